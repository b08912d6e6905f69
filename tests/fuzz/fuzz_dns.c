/* Feeds arbitrary bytes to the code that reads resolver answers: packet
 * parsing, CNAME chain extraction, CAA RDATA decoding and evaluation, the
 * DNSSEC evidence of a DS answer and the EDE option. An agent reads these
 * from the network, so none of it may crash or leak on hostile input. */
#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "caa.h"
#include "dnsanswer.h"
#include "dnssec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, data, size) != LDNS_STATUS_OK)
        return 0;
    static const char *const names[] = { "example.test", "a.b.example.test", "_acme-challenge.example.test" };
    static const ldns_rr_type types[] = { LDNS_RR_TYPE_CAA, LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_DS };
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            struct mpic_dns_rrset set = { 0 };
            struct mpic_error err;
            if (mpic_dns_answer_extract(pkt, names[n], types[t], &set, &err) == 0 && types[t] == LDNS_RR_TYPE_CAA) {
                size_t count = ldns_rr_list_rr_count(set.rrs);
                struct mpic_caa_record *recs = calloc(count ? count : 1, sizeof *recs);
                size_t ok = 0;
                for (size_t i = 0; recs != NULL && i < count; i++) {
                    if (mpic_dns_caa_decode(ldns_rr_list_rr(set.rrs, i), &recs[ok]) == 0) {
                        free(mpic_caa_record_format(&recs[ok]));
                        ok++;
                    }
                }
                static const char *const issuers[] = { "ca.example.net" };
                struct mpic_caa_query q = { .issuer_domains = issuers, .n_issuer_domains = 1,
                                            .flag1_is_critical = true };
                if (recs != NULL)
                    (void)mpic_caa_evaluate(recs, ok, &q);
                free(recs);
            }
            mpic_dns_rrset_free(&set);
        }
        (void)mpic_dnssec_ds_evidence(pkt, names[n]);
    }
    char ede[64];
    mpic_dns_ede_describe(mpic_dns_ede_code(pkt), ede, sizeof ede);
    ldns_pkt_free(pkt);
    return 0;
}
