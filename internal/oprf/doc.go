// Package oprf implements RFC 9497, Oblivious Pseudorandom Functions using
// prime-order groups, for the ciphersuite ristretto255-SHA512 in its OPRF
// mode (0x00) and its verifiable VOPRF mode (0x01). POPRF is not
// implemented. The group arithmetic is curve25519-voi's; expand_message_xmd
// (RFC 9380) is implemented here. Outputs are bit-for-bit those of the RFC
// (its Appendix A.1 vectors are in the tests).
//
// # What it is for
//
// The ledger names people by pseudonyms: F(k, identifier), a keyed PRF of
// the raw identifier (a national ID, a patient number) under a key k that
// only the node holds. A site that reads a person's identifier needs that
// pseudonym to record or look up the person, but should not have to hand
// the raw identifier to the node. With an OPRF it does not:
//
//   - the site blinds the identifier (BlindInput) and sends only the
//     blinded element, which tells the node nothing about the identifier;
//   - the node evaluates it with its key (PrivateKey.BlindEvaluate) without
//     learning the identifier or the resulting pseudonym;
//   - the site unblinds the answer (Finalize, FinalizeVerify) and obtains
//     the pseudonym, without learning the key.
//
// The node computes the same pseudonym itself, when it does hold the
// identifier, with PrivateKey.Evaluate. The key is usually derived from a
// node secret with DeriveKeyPair.
//
// In VOPRF mode the node also returns a batched DLEQ proof that each answer
// was computed with the key whose public key is on the ledger
// (FinalizeVerify checks it against that PublicKey). Without it a node
// could answer a site with a key of its choosing, and so hand it
// pseudonyms that match nobody else's records, or that mark which site
// they came from; with it the site knows its pseudonyms are the ledger's. Prefer ModeVOPRF whenever the site can
// obtain the public key.
//
// # Limits
//
// An OPRF hides the input from the evaluator; it does not stop whoever may
// query the evaluator from enumerating inputs. Identifiers come from small
// spaces (a few million national IDs), so a caller allowed unlimited
// evaluations can compute the pseudonym of every possible identifier and
// invert them all. What prevents that is the rate limit and the
// authentication in front of BlindEvaluate, not this package: the node must
// count and cap evaluations per site. Equally, the pseudonyms are only as
// secret as the key: whoever holds the key (or the DeriveKeyPair seed) can
// enumerate offline.
//
// The client's Blind values are secrets: one per input and request, kept
// only until Finalize. In OPRF mode nothing tells the site which key was
// used. Mode is part of every domain separation tag: the two modes give
// unrelated outputs for the same key, and client and server must agree on
// it.
//
// # Encodings
//
// Elements are 32-byte canonical ristretto255 encodings (RFC 9496),
// scalars 32-byte little-endian integers below the group order, proofs
// c || s (64 bytes), outputs 64 bytes. Every decoder refuses non-canonical
// encodings, and element decoders refuse the identity, as RFC 9497
// requires; errors wrap the package's Err values.
package oprf
