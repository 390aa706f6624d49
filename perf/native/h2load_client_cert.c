/*
 * LD_PRELOAD shim giving h2load a TLS client certificate, which it has no option for (nghttp2 1.52), so that the
 * load generator itself does mutual TLS with the server, as Envoy does, with no TLS terminator in between.
 * Every SSL_CTX the program creates gets the chain and key named by H2LOAD_CLIENT_CERT / H2LOAD_CLIENT_KEY (PEM);
 * a file that does not load aborts the process rather than letting it connect without a certificate.
 * Built by perf/run extauthz-external: cc -shared -fPIC -o h2load_client_cert.so h2load_client_cert.c -ldl
 * (OpenSSL's system_default configuration cannot do this: it ignores Certificate/PrivateKey.)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_method_st SSL_METHOD;
int SSL_CTX_use_certificate_chain_file(SSL_CTX *ctx, const char *file);
int SSL_CTX_use_PrivateKey_file(SSL_CTX *ctx, const char *file, int type);
int SSL_CTX_check_private_key(const SSL_CTX *ctx);

SSL_CTX *SSL_CTX_new(const SSL_METHOD *method) {
    static SSL_CTX *(*real)(const SSL_METHOD *);
    if (!real) {
        real = (SSL_CTX * (*)(const SSL_METHOD *)) dlsym(RTLD_NEXT, "SSL_CTX_new");
    }
    SSL_CTX *ctx = real(method);
    const char *cert = getenv("H2LOAD_CLIENT_CERT");
    const char *key = getenv("H2LOAD_CLIENT_KEY");
    if (ctx && cert && key) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 || SSL_CTX_use_PrivateKey_file(ctx, key, 1) != 1
                || SSL_CTX_check_private_key(ctx) != 1) {
            fprintf(stderr, "h2load_client_cert: cannot load %s / %s\n", cert, key);
            abort();
        }
    }
    return ctx;
}
