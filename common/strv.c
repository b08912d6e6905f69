#include "strv.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static void strv_release(struct mpic_strv *sv, bool wipe)
{
    for (size_t i = 0; i < sv->n; i++) {
        if (wipe && sv->v[i] != NULL)
            OPENSSL_cleanse(sv->v[i], strlen(sv->v[i]));
        free(sv->v[i]);
    }
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

void mpic_strv_free(struct mpic_strv *sv)
{
    strv_release(sv, false);
}

void mpic_strv_wipe(struct mpic_strv *sv)
{
    strv_release(sv, true);
}

int mpic_strv_push(struct mpic_strv *sv, char *s)
{
    char **nv = realloc(sv->v, (sv->n + 1) * sizeof *nv);
    if (nv == NULL)
        return -1;
    sv->v = nv;
    sv->v[sv->n++] = s;
    return 0;
}

bool mpic_strv_contains(const struct mpic_strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (sv->v[i] != NULL && strcmp(sv->v[i], s) == 0)
            return true;
    return false;
}
