/* Proving names Insecure (RFC 4035 §4.3) for answers that came back without
 * AD: the DS at each name and each of its ancestors is asked in parallel on
 * the agent's resolver, once per distinct name, and common/dnssec.c judges
 * what came back. Used by the CAA check (agent.dns.dnssec "require" and the
 * BR 3.2.2.8 carve-out) and the DNS DCV checks ("require"). */
#ifndef MPIC_INSECURE_PROOF_H
#define MPIC_INSECURE_PROOF_H

#include <stddef.h>

#include "error.h"
#include "resolver.h"

struct mpic_insecure_proof;

/* Called exactly once, from the event loop, when every DS lookup has ended
 * (unless freed first). The callback may free the proof. */
typedef void (*mpic_insecure_proof_cb)(void *arg);

/* Starts the DS lookups for names[0..n) (a trailing dot is ignored) and
 * their ancestors up to the TLD. NULL with err when a lookup cannot start. */
struct mpic_insecure_proof *mpic_insecure_proof_start(struct mpic_resolver *r, const char *const *names, size_t n,
                                                      mpic_insecure_proof_cb cb, void *arg, struct mpic_error *err);

/* Once the callback has run: the ancestor-or-self of name whose validated
 * delegation without DS proves name Insecure, or NULL (not proven, name not
 * among those asked, or p NULL). Valid while p lives. */
const char *mpic_insecure_proof_cut(const struct mpic_insecure_proof *p, const char *name);

/* Cancels what is still pending. NULL is fine. */
void mpic_insecure_proof_free(struct mpic_insecure_proof *p);

#endif
