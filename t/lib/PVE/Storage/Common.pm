# Test stand-in for PVE::Storage::Common (libpve-storage-perl), written from scratch.
#
# Mirrors src/PVE/Storage/Common.pm in https://github.com/proxmox/pve-storage at commit
# 0c56bad8b2a7d69e5ce2c243651fe830d6caa936 ("bump version to 9.1.7"), only the two standard options
# it registers with PVE::JSONSchema, which PVE::Storage::Plugin's base properties use:
#   pve-storage-image-format  { type => 'string', enum => [raw qcow2 subvol vmdk] }
#   pve-vm-image-format       { type => 'string', enum => [raw qcow2 vmdk] }
# Left out: every helper function (qemu-img wrappers, fallocate, path helpers, ...).
package PVE::Storage::Common;

use strict;
use warnings;

use PVE::JSONSchema;

PVE::JSONSchema::register_standard_option('pve-storage-image-format', {
    type => 'string',
    enum => ['raw', 'qcow2', 'subvol', 'vmdk'],
    description => "Format of the image.",
});

PVE::JSONSchema::register_standard_option('pve-vm-image-format', {
    type => 'string',
    enum => ['raw', 'qcow2', 'vmdk'],
    description => "Format of the image.",
});

1;
