/* Well-formed UTF-8 (RFC 3629): what a JSON string may carry. The agent
 * quotes what servers sent (TXT values, Locations) in its replies, and
 * jansson refuses a string that is not UTF-8. */
#ifndef MPIC_UTF8_H
#define MPIC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the well-formed sequence at s, which has n octets
 * available, or 0: no overlong form, no surrogate, nothing past U+10FFFF. */
size_t mpic_utf8_seq_len(const uint8_t *s, size_t n);

#endif
