/* One DNS question asked at a name and, for a climb, at each of its parents
 * (RFC 8659 §3), every level at once; the relevant level is chosen by
 * common/caa.c (mpic_caa_select_level) as soon as the answers so far decide.
 * When the decision rests on answers without AD, or on failures that may be
 * forgiven, the names are proven Insecure (insecure_proof.h) before the user
 * hears of it. The CAA check and the DNS DCV methods are its two users: they
 * judge the levels, the climb only asks, classifies and proves. */
#ifndef MPIC_DNS_CLIMB_H
#define MPIC_DNS_CLIMB_H

#include <stdbool.h>
#include <stddef.h>

#include "caa.h"
#include "dnsanswer.h"
#include "resolver.h"

/* What one level asked and got. */
struct mpic_dns_level {
    char *name;                     /* query name, lower case, no trailing dot */
    struct mpic_dns_rrset rrset;    /* records, or the CNAME chain of an empty answer */
    enum mpic_caa_level status;
    char error[400];                /* why the level is MPIC_CAA_LEVEL_ERROR */
    bool answered;                  /* a response arrived (any rcode) */
    bool ad;
    int rcode;                      /* -1 without a response */
    int ede;                        /* first EDE code, -1 without */
    unsigned tries;                 /* queries sent, over our own retry too */
    bool retried;                   /* we asked once more ourselves */
};

struct mpic_dns_climb;

/* sel: the relevant level, MPIC_CAA_SELECT_EMPTY or MPIC_CAA_SELECT_ERROR.
 * proof_error: the Insecure proof the decision needed could not start (why),
 * else NULL. Called once, from the loop; the user may free the climb. */
typedef void (*mpic_dns_climb_cb)(struct mpic_dns_climb *cl, int sel, const char *proof_error, void *arg);

struct mpic_dns_climb_spec {
    ldns_rr_type qtype;
    /* agent.dns.dnssec "require": each answer without AD that the decision
     * rests on, and each alias target it passed through, is put to the proof. */
    bool require_dnssec;
    /* BR 3.2.2.8 (CAA's allow_lookup_failure): a failed level is asked once
     * more and counts as empty while the levels decide; proof_wanted says
     * which failed levels the proof is asked for. */
    bool failures_count_empty;
    bool (*proof_wanted)(const struct mpic_dns_level *lv);
    /* CAA: an rcode failure names the tries made (the carve-out wants a
     * retry), and NXDOMAIN is empty even when its CNAME chain is unreadable
     * (the chain only matters to "require"). The DCV methods fail instead. */
    bool name_tries;
    bool nxdomain_always_empty;
    /* Optional: a last look at a level with records; -1 with lv->error set
     * fails the level (CAA: a record that cannot be decoded might forbid). */
    int (*vet)(struct mpic_dns_level *lv, const char *server);
    mpic_dns_climb_cb cb;
    void *arg;
};

/* Asks spec->qtype at names[0..n) (taken over, also on failure). NULL with
 * err when a lookup cannot start. */
struct mpic_dns_climb *mpic_dns_climb_start(struct mpic_resolver *r, const struct mpic_dns_climb_spec *spec,
                                            char **names, size_t n, struct mpic_error *err);
/* Cancels what is pending and frees. NULL is fine. */
void mpic_dns_climb_free(struct mpic_dns_climb *cl);
/* Stops every lookup and proof still running, so that the user may start
 * new work on the resolver from inside its callback. */
void mpic_dns_climb_stop(struct mpic_dns_climb *cl);

size_t mpic_dns_climb_count(const struct mpic_dns_climb *cl);
struct mpic_dns_level *mpic_dns_climb_level(struct mpic_dns_climb *cl, size_t i);
/* The levels a decision sel rests on: [0, end]. */
size_t mpic_dns_climb_relevant_end(const struct mpic_dns_climb *cl, int sel);

/* The zone cut that proves name Insecure, or NULL (see insecure_proof.h). */
const char *mpic_dns_climb_cut(const struct mpic_dns_climb *cl, const char *name);
/* Under "require": true with msg when level i answered without AD and it,
 * or an alias target it passed through, is not proven Insecure. */
bool mpic_dns_climb_unproven(const struct mpic_dns_climb *cl, size_t i, char *msg, size_t len);

#endif
