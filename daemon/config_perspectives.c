/* The perspective catalogue of the configuration: perspectives[] (codes,
 * RIRs, urls, too_close lists, locations and resolvers), the orchestrator's
 * primary perspective, and the BR 3.2.2.9 geography checked from them once
 * the policy is known (remotes far enough from the primary, pairs closer than
 * MPIC_DISTINCT_KM merged into too_close). */
#include "config_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo.h"

int mpic_config_find_perspective(const struct mpic_config *cfg, const char *code)
{
    if (cfg == NULL || code == NULL)
        return -1;
    for (size_t i = 0; i < cfg->n_perspectives; i++) {
        if (cfg->perspectives[i].code != NULL && strcmp(cfg->perspectives[i].code, code) == 0)
            return (int)i;
    }
    return -1;
}

static int parse_too_close(struct loader *ld, json_t *arr, const char *kp, struct mpic_perspective *p)
{
    if (mpic_cfg_want_array(ld, arr, kp) < 0)
        return -1;
    if (mpic_cfg_strv_alloc(ld, kp, json_array_size(arr), &p->too_close) < 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char ikp[KEYPATH_LEN], show[SHOW_LEN];
        const char *s = NULL;
        mpic_cfg_keypath_index(ikp, kp, i);
        if (mpic_cfg_want_string(ld, v, ikp, &s) < 0)
            return -1;
        if (!mpic_cfg_code_ok(s))
            return mpic_cfg_fail(ld, ikp, "\"%s\" is not a perspective code", SHOW(s, show));
        for (size_t j = 0; j < p->too_close.n; j++) {
            if (strcmp(p->too_close.v[j], s) == 0)
                return mpic_cfg_fail(ld, ikp, "\"%s\" is listed twice", s);
        }
        if (mpic_cfg_dup_str(ld, ikp, s, &p->too_close.v[p->too_close.n]) < 0)
            return -1;
        p->too_close.n++;
    }
    return 0;
}

/* ---- locations (BR 3.2.2.9 distances) ---------------------------------------- */

static int want_degrees(struct loader *ld, json_t *obj, const char *parent, const char *key, double min,
                        double max, double *out)
{
    char kp[KEYPATH_LEN];
    json_t *v = json_object_get(obj, key);
    mpic_cfg_keypath_key(kp, parent, key);
    if (v == NULL)
        return mpic_cfg_fail(ld, kp, "required key is missing");
    if (!json_is_number(v))
        return mpic_cfg_fail(ld, kp, "expected a number (degrees)");
    double d = json_number_value(v);
    if (!(d >= min && d <= max))
        return mpic_cfg_fail(ld, kp, "%g is out of range (%g..%g)", d, min, max);
    *out = d;
    return 0;
}

/* {"lat": -90..90, "lon": -180..180}, plus whatever other keys the caller
 * allows (the resolver object also carries "rir"). */
static int parse_point(struct loader *ld, json_t *obj, const char *kp, const char *const *keys, double *lat,
                       double *lon)
{
    if (mpic_cfg_want_object(ld, obj, kp) < 0 || mpic_cfg_check_keys(ld, obj, kp, keys) < 0)
        return -1;
    if (want_degrees(ld, obj, kp, "lat", -90.0, 90.0, lat) < 0 ||
        want_degrees(ld, obj, kp, "lon", -180.0, 180.0, lon) < 0)
        return -1;
    return 0;
}

/* perspectives[].location and perspectives[].resolver. A resolver that is
 * not co-located must be in the perspective's RIR service region (BR 3.2.2.9,
 * on DNS resolvers); without one the resolver is taken to be where the
 * perspective is. */
static int parse_perspective_geo(struct loader *ld, json_t *obj, const char *kp, struct mpic_perspective *p)
{
    static const char *const loc_keys[] = { "lat", "lon", NULL };
    static const char *const res_keys[] = { "lat", "lon", "rir", NULL };
    char k[KEYPATH_LEN], rk[KEYPATH_LEN], show[SHOW_LEN];
    const char *s = NULL;
    json_t *v;

    mpic_cfg_keypath_key(k, kp, "location");
    if ((v = json_object_get(obj, "location")) != NULL) {
        if (parse_point(ld, v, k, loc_keys, &p->lat, &p->lon) < 0)
            return -1;
        p->has_location = true;
    }

    mpic_cfg_keypath_key(k, kp, "resolver");
    if ((v = json_object_get(obj, "resolver")) == NULL)
        return 0;
    if (parse_point(ld, v, k, res_keys, &p->resolver_lat, &p->resolver_lon) < 0)
        return -1;
    mpic_cfg_keypath_key(rk, k, "rir");
    json_t *r = json_object_get(v, "rir");
    if (r == NULL)
        return mpic_cfg_fail(ld, rk, "required key is missing");
    if (mpic_cfg_want_string(ld, r, rk, &s) < 0)
        return -1;
    if (mpic_rir_parse(s, &p->resolver_rir) < 0)
        return mpic_cfg_fail(ld, rk, "unknown RIR \"%s\" (expected ARIN, RIPE NCC, APNIC, LACNIC or AFRINIC)",
                             SHOW(s, show));
    if (p->resolver_rir != p->rir)
        return mpic_cfg_fail(ld, rk,
                             "the resolver is in %s but perspective %s is in %s (BR 3.2.2.9: a resolver must be in "
                             "the RIR service region of the perspective that relies on it)",
                             mpic_rir_name(p->resolver_rir), p->code, mpic_rir_name(p->rir));
    p->has_resolver = true;
    return 0;
}

static int parse_perspective(struct loader *ld, json_t *obj, const char *kp, struct mpic_perspective *p,
                             bool url_required)
{
    static const char *const keys[] = { "code", "name", "rir", "too_close", "url", "location", "resolver", NULL };
    char k[KEYPATH_LEN], show[SHOW_LEN];
    const char *s = NULL;
    json_t *v;
    if (mpic_cfg_want_object(ld, obj, kp) < 0 || mpic_cfg_check_keys(ld, obj, kp, keys) < 0)
        return -1;

    mpic_cfg_keypath_key(k, kp, "code");
    if ((v = json_object_get(obj, "code")) == NULL)
        return mpic_cfg_fail(ld, k, "required key is missing");
    if (mpic_cfg_want_string(ld, v, k, &s) < 0)
        return -1;
    if (!mpic_cfg_code_ok(s))
        return mpic_cfg_fail(ld, k, "\"%s\" is not a perspective code (1..%d of a-z, 0-9, -)", SHOW(s, show), CODE_MAX);
    if (mpic_cfg_dup_str(ld, k, s, &p->code) < 0)
        return -1;

    mpic_cfg_keypath_key(k, kp, "name");
    if ((v = json_object_get(obj, "name")) != NULL && !json_is_null(v)) {
        if (!json_is_string(v))
            return mpic_cfg_fail(ld, k, "expected a string or null");
        if (mpic_cfg_dup_str(ld, k, json_string_value(v), &p->name) < 0)
            return -1;
    }

    mpic_cfg_keypath_key(k, kp, "rir");
    if ((v = json_object_get(obj, "rir")) == NULL)
        return mpic_cfg_fail(ld, k, "required key is missing");
    if (mpic_cfg_want_string(ld, v, k, &s) < 0)
        return -1;
    if (mpic_rir_parse(s, &p->rir) < 0)
        return mpic_cfg_fail(ld, k, "unknown RIR \"%s\" (expected ARIN, RIPE NCC, APNIC, LACNIC or AFRINIC)",
                             SHOW(s, show));

    mpic_cfg_keypath_key(k, kp, "too_close");
    if ((v = json_object_get(obj, "too_close")) != NULL && parse_too_close(ld, v, k, p) < 0)
        return -1;
    if (parse_perspective_geo(ld, obj, kp, p) < 0)
        return -1;

    mpic_cfg_keypath_key(k, kp, "url");
    if ((v = json_object_get(obj, "url")) == NULL) {
        if (url_required)
            return mpic_cfg_fail(ld, k, "required key is missing");
        return 0;
    }
    if (mpic_cfg_want_string(ld, v, k, &s) < 0)
        return -1;
    return mpic_cfg_parse_url(ld, k, s, &p->url);
}

/* too_close must name known codes, never the perspective itself, and hold in
 * both directions: a one-sided entry is almost always a forgotten edit, and
 * cohort selection must not depend on which side it looks from. */
static int check_too_close(struct loader *ld, struct mpic_config *cfg)
{
    for (size_t i = 0; i < cfg->n_perspectives; i++) {
        const struct mpic_perspective *p = &cfg->perspectives[i];
        for (size_t t = 0; t < p->too_close.n; t++) {
            char kp[KEYPATH_LEN], base[KEYPATH_LEN], list[KEYPATH_LEN];
            const char *other = p->too_close.v[t];
            mpic_cfg_keypath_index(base, "perspectives", i);
            mpic_cfg_keypath_key(list, base, "too_close");
            mpic_cfg_keypath_index(kp, list, t);
            int j = mpic_config_find_perspective(cfg, other);
            if (j < 0)
                return mpic_cfg_fail(ld, kp, "unknown perspective code \"%s\"", other);
            if ((size_t)j == i)
                return mpic_cfg_fail(ld, kp, "\"%s\" lists itself", other);
            if (!mpic_strv_contains(&cfg->perspectives[j].too_close, p->code))
                return mpic_cfg_fail(ld, kp,
                                     "\"%s\" lists \"%s\" as too close, but perspectives[%d] \"%s\" does not "
                                     "list \"%s\" (too_close must be symmetric)",
                                     p->code, other, j, other, p->code);
        }
    }
    return 0;
}

int mpic_cfg_parse_perspectives(struct loader *ld, json_t *root, struct mpic_config *cfg)
{
    json_t *arr = json_object_get(root, "perspectives");
    if (arr == NULL)
        return 0;
    if (mpic_cfg_want_array(ld, arr, "perspectives") < 0)
        return -1;
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    if (n > INT_MAX)
        return mpic_cfg_fail(ld, "perspectives", "too many perspectives");
    cfg->perspectives = calloc(n, sizeof *cfg->perspectives);
    if (cfg->perspectives == NULL)
        return mpic_cfg_fail_oom(ld, "perspectives");
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        char kp[KEYPATH_LEN];
        mpic_cfg_keypath_index(kp, "perspectives", i);
        /* Counted before parsing so that a half-filled entry is freed too. */
        cfg->n_perspectives++;
        struct mpic_perspective *p = &cfg->perspectives[i];
        if (parse_perspective(ld, v, kp, p, ld->role == MPIC_ROLE_ORCHESTRATOR) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->perspectives[j].code, p->code) == 0) {
                char ck[KEYPATH_LEN];
                mpic_cfg_keypath_key(ck, kp, "code");
                return mpic_cfg_fail(ld, ck, "duplicate perspective code \"%s\" (also perspectives[%zu])", p->code, j);
            }
        }
    }
    return check_too_close(ld, cfg);
}

/* ---- distinctness (BR 3.2.2.9) --------------------------------------------------- */

/* orchestrator.primary: the CA's own (Primary) Network Perspective, described
 * like a catalogue entry but never put in a cohort, so kept out of
 * cfg->perspectives. Its url is optional: the orchestrator never calls it. */
int mpic_cfg_parse_primary(struct loader *ld, json_t *obj, struct mpic_config *cfg)
{
    static const char *const keys[] = { "code", "name", "rir", "url", "location", NULL };
    const char *P = "orchestrator.primary";
    struct mpic_orchestrator_config *o = &cfg->orchestrator;
    o->require_primary = false;
    if (mpic_cfg_opt_bool(ld, obj, "orchestrator", "require_primary", &o->require_primary) < 0)
        return -1;
    json_t *v = json_object_get(obj, "primary");
    if (v == NULL) {
        if (o->require_primary)
            return mpic_cfg_fail(ld, "orchestrator.require_primary", "is true, but orchestrator.primary is missing");
        return 0;
    }
    if (mpic_cfg_want_object(ld, v, P) < 0 || mpic_cfg_check_keys(ld, v, P, keys) < 0)
        return -1;
    o->primary = calloc(1, sizeof *o->primary);
    if (o->primary == NULL)
        return mpic_cfg_fail_oom(ld, P);
    /* The orchestrator calls the primary's agent beside every cohort. */
    if (parse_perspective(ld, v, P, o->primary, ld->role == MPIC_ROLE_ORCHESTRATOR) < 0)
        return -1;
    int j = mpic_config_find_perspective(cfg, o->primary->code);
    if (j >= 0)
        return mpic_cfg_fail(ld, "orchestrator.primary.code",
                             "\"%s\" is also perspectives[%d]; the primary is not one of the remote perspectives",
                             o->primary->code, j);
    return 0;
}

/* Whole kilometres for messages; a distance under the limit is never shown
 * as the limit itself (499.7 km reads "499 km", not "500 km"). */
static long km_shown(double km)
{
    long r = lround(km);
    if (km < MPIC_DISTINCT_KM && r >= MPIC_DISTINCT_KM)
        r = MPIC_DISTINCT_KM - 1;
    return r;
}

/* Where a perspective's DNS queries leave: its resolver, else itself. */
static bool resolver_point(const struct mpic_perspective *p, double *lat, double *lon)
{
    if (p->has_resolver) {
        *lat = p->resolver_lat;
        *lon = p->resolver_lon;
        return true;
    }
    *lat = p->lat;
    *lon = p->lon;
    return p->has_location;
}

static int add_copy(struct loader *ld, struct mpic_strv *sv, const char *line)
{
    char *copy = strdup(line);
    if (copy == NULL || mpic_strv_push(sv, copy) < 0) {
        free(copy);
        return mpic_cfg_fail_oom(ld, "perspectives");
    }
    return 0;
}

static int too_close_add(struct loader *ld, struct mpic_perspective *p, const char *code)
{
    return mpic_strv_contains(&p->too_close, code) ? 0 : add_copy(ld, &p->too_close, code);
}

/* Pairs of perspectives, or of the resolvers they rely on, closer than
 * MPIC_DISTINCT_KM count as one perspective: each goes into the other's
 * too_close list (so cohort selection keeps them apart) and the pair is
 * recorded for -t. Explicit too_close entries stay: they add separations
 * that coordinates cannot show (a shared upstream, say). */
static int merge_close_pairs(struct loader *ld, struct mpic_config *cfg)
{
    for (size_t i = 0; i < cfg->n_perspectives; i++) {
        for (size_t j = i + 1; j < cfg->n_perspectives; j++) {
            struct mpic_perspective *a = &cfg->perspectives[i], *b = &cfg->perspectives[j];
            double alat, alon, blat, blon;
            bool have_d = a->has_location && b->has_location;
            bool have_r = resolver_point(a, &alat, &alon) && resolver_point(b, &blat, &blon);
            double d = have_d ? mpic_geo_distance_km(a->lat, a->lon, b->lat, b->lon) : 0.0;
            double r = have_r ? mpic_geo_distance_km(alat, alon, blat, blon) : 0.0;
            bool close_d = have_d && d < MPIC_DISTINCT_KM;
            bool close_r = have_r && r < MPIC_DISTINCT_KM;
            if (!close_d && !close_r)
                continue;
            char line[2 * CODE_MAX + 96];
            if (close_d)
                snprintf(line, sizeof line, "%s ~ %s: %ld km", a->code, b->code, km_shown(d));
            else if (have_d)
                snprintf(line, sizeof line, "%s ~ %s: resolvers %ld km apart (perspectives %ld km)", a->code,
                         b->code, km_shown(r), lround(d));
            else
                snprintf(line, sizeof line, "%s ~ %s: resolvers %ld km apart", a->code, b->code, km_shown(r));
            if (too_close_add(ld, a, b->code) < 0 || too_close_add(ld, b, a->code) < 0 ||
                add_copy(ld, &cfg->computed_too_close, line) < 0)
                return -1;
        }
    }
    return 0;
}

/* Runs once the orchestrator section (and so the policy) is known. Under
 * cabf-br the orchestrator cannot check BR 3.2.2.9's 500 km rule without
 * every location, so each is required; a remote closer than that to the
 * primary is not remote at all, and refuses the start. */
int mpic_cfg_check_geography(struct loader *ld, struct mpic_config *cfg)
{
    const struct mpic_orchestrator_config *o = &cfg->orchestrator;
    const struct mpic_perspective *pp = o->primary;
    if (ld->role == MPIC_ROLE_ORCHESTRATOR && cfg->has_orchestrator && o->policy == MPIC_PROFILE_CABF_BR) {
        for (size_t i = 0; i < cfg->n_perspectives; i++) {
            if (cfg->perspectives[i].has_location)
                continue;
            char base[KEYPATH_LEN], kp[KEYPATH_LEN];
            mpic_cfg_keypath_index(base, "perspectives", i);
            mpic_cfg_keypath_key(kp, base, "location");
            return mpic_cfg_fail(ld, kp, "required key is missing (policy cabf-br checks the BR 3.2.2.9 500 km rule "
                                         "from it; only open-mpic-reference makes it optional)");
        }
        if (pp != NULL && !pp->has_location)
            return mpic_cfg_fail(ld, "orchestrator.primary.location",
                                 "required key is missing (policy cabf-br checks the BR 3.2.2.9 500 km rule from it)");
    }
    for (size_t i = 0; pp != NULL && pp->has_location && i < cfg->n_perspectives; i++) {
        const struct mpic_perspective *p = &cfg->perspectives[i];
        if (!p->has_location)
            continue;
        double d = mpic_geo_distance_km(pp->lat, pp->lon, p->lat, p->lon);
        if (d < MPIC_DISTINCT_KM)
            return mpic_cfg_fail(ld, "orchestrator.primary",
                                 "perspective %s is %ld km from the primary (BR 3.2.2.9 requires remotes to be at "
                                 "least %d km from it)",
                                 p->code, km_shown(d), MPIC_DISTINCT_KM);
    }
    return merge_close_pairs(ld, cfg);
}

/* What mpic_cfg_check_geography and mpic_cfg_parse_primary added. */
void mpic_cfg_geo_config_free(struct mpic_config *cfg)
{
    struct mpic_perspective *pp = cfg->orchestrator.primary;
    if (pp != NULL) {
        free(pp->code);
        free(pp->name);
        mpic_strv_free(&pp->too_close);
        free(pp->url);
        free(pp);
        cfg->orchestrator.primary = NULL;
    }
    mpic_strv_free(&cfg->computed_too_close);
}
