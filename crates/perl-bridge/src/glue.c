/* The XS glue of PVE::RS::SMBGateway: one entry point,
 *   PVE::RS::SMBGateway::_call($method, $json_args) -> $json_result   (dies on error)
 * Everything else is Rust (smbgw_call). Kept this small on purpose: Perl's XS API is macros,
 * so this is the one place that must be C. */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

extern int smbgw_call(const char *method, size_t method_len, const char *args, size_t args_len,
                      char **out, size_t *out_len);
extern void smbgw_free(char *p, size_t len);

XS_INTERNAL(XS_PVE__RS__SMBGateway__call)
{
    dVAR; dXSARGS;
    STRLEN method_len, args_len;
    const char *method, *args;
    char *out = NULL;
    size_t out_len = 0;
    int rc;
    SV *result;

    if (items != 2)
        croak_xs_usage(cv, "method, json_args");
    method = SvPVutf8(ST(0), method_len);
    args = SvPVutf8(ST(1), args_len);

    rc = smbgw_call(method, method_len, args, args_len, &out, &out_len);
    result = newSVpvn_utf8(out, out_len, 1);
    smbgw_free(out, out_len); /* free Rust's buffer before croak longjmps past us */
    if (rc != 0)
        croak_sv(sv_2mortal(result));
    ST(0) = sv_2mortal(result);
    XSRETURN(1);
}

/* rustc hides C symbols of a cdylib: Rust exports boot_PVE__RS__SMBGateway and calls this. */
XS_EXTERNAL(smbgw_glue_boot)
{
    dVAR; dXSARGS;
    PERL_UNUSED_VAR(items);
    newXS("PVE::RS::SMBGateway::_call", XS_PVE__RS__SMBGateway__call, __FILE__);
    XSRETURN_YES;
}
