# pve-smbgateway -- build, test, demo, bench.
#   make demo    a real share, served by a real smbd, used with smbclient (sandbox, root)
#   make test    every test tier (installs what it needs on Debian 12)
#   make bench   performance figures beside baselines measured in the same run

CARGO ?= cargo
BIN := target/release/pve-smbgateway

.PHONY: all build ui deps test test-ui test-package test-vm lint perl-check demo demo-clean bench clean docs install deb

all: build

deps:
	./scripts/install-deps.sh

build: ui
	$(CARGO) build --release --locked

# the web UI: www/pve-smbgateway.js, built from one file per class (www/Makefile)
ui:
	$(MAKE) -C www

PERL_TEST_ENV := PERL5LIB=$(CURDIR)/perl \
	PVE_RS_SMBGW_SO=$(CURDIR)/target/release/libpve_rs_smbgateway.so \
	PVE_SMBGW_BIN=$(CURDIR)/$(BIN)

# every tier (deps, lint, cargo unit + integration tests, perl -c, prove, UI, package), each run
# even when an earlier one failed; ends with one line "tests: N passed, M failed" (scripts/test-all.sh);
# TIERS="prove ui" runs only those
test:
	MAKE="$(MAKE)" TIERS="$(TIERS)" ./scripts/test-all.sh

# tier 5: the .deb in a Debian 12 LXC container with systemd as PID 1 (root; cached root filesystem)
test-package:
	./t/package/run.sh

# tier 4: the web UI in headless chromium (root; installs chromium, npm packages into ~/.cache)
test-ui: build
	./t/ui/run.sh

# opt-in, not part of test: a vm share on a real guest under QEMU/TCG (root; installs QEMU;
# guest image cached in ~/.cache/pve-smbgateway/vm; a few minutes)
test-vm: build
	./t/vm/run.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --workspace --all-targets -- -D warnings
	$(CARGO) build --release --locked
	./scripts/verify-units.sh --source

# perl -c of our modules, against the built bridge and the PVE stand-ins (t/lib); all of them,
# then a count
perl-check:
	@passed=0; failed=0; for pm in $$(find perl -name '*.pm' | sort); do \
		if $(PERL_TEST_ENV) perl -Iperl -It/lib -c "$$pm"; then passed=$$((passed + 1)); \
		else failed=$$((failed + 1)); fi; \
	done; echo "perl-check: $$passed passed, $$failed failed"; [ $$failed = 0 ]

# man page and bash completion, generated from the same definitions as the CLI
docs: build
	mkdir -p target/docs
	$(BIN) man > target/docs/pve-smbgateway.8
	$(BIN) completion bash > target/docs/pve-smbgateway.bash-completion

demo: deps build
	./scripts/demo.sh

demo-clean:
	./scripts/demo.sh clean

bench: deps build
	./scripts/bench.sh

# the files of the Debian package (debian/rules calls this with DESTDIR)
PERL_VENDORARCH := $(shell perl -MConfig -e 'print $$Config{vendorarch}')
install: build docs
	install -D -m 0755 $(BIN) $(DESTDIR)/usr/sbin/pve-smbgateway
	install -D -m 0755 target/release/pve-smbgatewayd $(DESTDIR)/usr/sbin/pve-smbgatewayd
	install -D -m 0755 target/release/smbgw-ctdb-quorum-lock \
		$(DESTDIR)/usr/libexec/pve-smbgateway/smbgw-ctdb-quorum-lock
	install -D -m 0644 www/pve-smbgateway.js $(DESTDIR)/usr/share/pve-manager/js/pve-smbgateway.js
	install -D -m 0755 www/ui-hook $(DESTDIR)/usr/share/pve-smbgateway/ui-hook
	install -D -m 0755 scripts/create_ct_template.sh $(DESTDIR)/usr/share/pve-smbgateway/create_ct_template.sh
	install -D -m 0755 scripts/create_vm_template.sh $(DESTDIR)/usr/share/pve-smbgateway/create_vm_template.sh
	cd crates/daemon/notification-templates && for f in *.hbs; do \
		install -D -m 0644 $$f $(DESTDIR)/usr/share/pve-manager/templates/default/$$f; done
	install -D -m 0644 target/release/libpve_rs_smbgateway.so \
		$(DESTDIR)$(PERL_VENDORARCH)/auto/PVE/RS/SMBGateway/SMBGateway.so
	cd perl && find . -name '*.pm' -exec install -D -m 0644 {} $(DESTDIR)/usr/share/perl5/{} \;
	install -D -m 0644 target/docs/pve-smbgateway.8 $(DESTDIR)/usr/share/man/man8/pve-smbgateway.8
	install -D -m 0644 target/docs/pve-smbgateway.bash-completion \
		$(DESTDIR)/usr/share/bash-completion/completions/pve-smbgateway
	cd samba-templates && find . -type f -exec install -D -m 0644 {} \
		$(DESTDIR)/usr/share/pve-smbgateway/samba-templates/{} \;
	for unit in systemd/*.service systemd/*.timer; do [ -e "$$unit" ] || continue; \
		install -D -m 0644 $$unit $(DESTDIR)/lib/systemd/system/$$(basename $$unit); done

# ../pve-smbgateway_<version>_amd64.deb, checked with lintian
deb:
	./scripts/install-deps.sh --packaging
	dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning ../pve-smbgateway_*_amd64.changes
	./scripts/verify-units.sh

clean:
	$(CARGO) clean
	$(MAKE) -C www clean
