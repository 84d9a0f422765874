package ledger

import "slices"

// Cross-region reads by grant (issue 15, docs/REGIONS.md step 8; seed 002:
// cross-region reads authorised by the main chain). A region's N2 asks on
// the national chain (AccessRequest); the national N1 approves it with a
// scope and an expiry (AccessGrant); relays carry the grant down, proven
// under anchored headers, to the chains it names, whose nodes then serve
// the grantee's reads within its scope and audit each one, and each
// refusal, on their own chain.

// The reads a grant can open: intelligence records' details ("intel") and
// trajectories and contacts of named persons ("trace").
var AccessReads = []string{"intel", "trace"}

// Bounds of a scope.
const (
	MaxScopeChains  = 16
	MaxScopeRecords = 64
	MaxScopePersons = 64
	MaxAccessReason = 512
)

// AccessScope is what a grant opens: reads of the kinds Reads, on the
// chains Chains, of the intelligence records Records (none: any) in the
// dimensions Dimensions (none: any), or the trajectories and contacts of
// Persons (by their national pseudonym), all within From..To (Unix
// seconds: the moment a record describes, the window of a trace).
type AccessScope struct {
	Chains     []string
	Reads      []string
	Records    []Hash
	Dimensions []string
	Persons    []Pseudonym
	From, To   int64
}

func (s *AccessScope) fields(c *codec) {
	n := len(s.Chains)
	c.count(&n, "chains", MaxScopeChains)
	if !c.ok() {
		return
	}
	if c.reading() {
		s.Chains = make([]string, n)
	}
	for i := range s.Chains {
		c.str(&s.Chains[i], "chains", MaxChainIDLen)
	}
	if c.mode == checking && n == 0 {
		c.fail("chains", "a grant names the chains that serve it")
	}
	n = len(s.Reads)
	c.count(&n, "reads", len(AccessReads))
	if !c.ok() {
		return
	}
	if c.reading() {
		s.Reads = make([]string, n)
	}
	for i := range s.Reads {
		c.str(&s.Reads[i], "reads", MaxTagLen)
		if c.mode == checking && !slices.Contains(AccessReads, s.Reads[i]) {
			c.fail("reads", "intel or trace")
		}
	}
	if c.mode == checking && n == 0 {
		c.fail("reads", "a grant opens intel reads, trace reads or both")
	}
	n = len(s.Records)
	c.count(&n, "records", MaxScopeRecords)
	if !c.ok() {
		return
	}
	if c.reading() {
		s.Records = make([]Hash, n)
	}
	for i := range s.Records {
		c.bytes32((*[32]byte)(&s.Records[i]), "records")
	}
	n = len(s.Dimensions)
	c.count(&n, "dimensions", len(IntelDimensions))
	if !c.ok() {
		return
	}
	if c.reading() {
		s.Dimensions = make([]string, n)
	}
	for i := range s.Dimensions {
		c.str(&s.Dimensions[i], "dimensions", MaxTagLen)
		if c.mode == checking && !slices.Contains(IntelDimensions, s.Dimensions[i]) {
			c.fail("dimensions", "one of epidemic, medical, government, public, opinion")
		}
	}
	n = len(s.Persons)
	c.count(&n, "persons", MaxScopePersons)
	if !c.ok() {
		return
	}
	if c.reading() {
		s.Persons = make([]Pseudonym, n)
	}
	for i := range s.Persons {
		c.bytes32((*[32]byte)(&s.Persons[i]), "persons")
	}
	c.time(&s.From, "from")
	c.time(&s.To, "to")
	if c.mode == checking && s.To < s.From {
		c.fail("to", "the scope's window runs forward: to is not before from")
	}
	if c.mode == checking && slices.Contains(s.Reads, "trace") && len(s.Persons) == 0 {
		c.fail("persons", "a grant of trace reads names the persons, by pseudonym")
	}
}

// Opens reports whether s opens a read of kind read on chain.
func (s *AccessScope) Opens(read, chain string) bool {
	return slices.Contains(s.Reads, read) && slices.Contains(s.Chains, chain)
}

// Within reports whether s asks for nothing t does not: the grant an N1
// makes from a request may narrow it, never widen it. It names the first
// field that is wider, "" when none is.
func (s *AccessScope) Within(t *AccessScope) string {
	switch {
	case !subset(s.Chains, t.Chains):
		return "chains"
	case !subset(s.Reads, t.Reads):
		return "reads"
	case len(t.Records) > 0 && (len(s.Records) == 0 || !subset(s.Records, t.Records)):
		return "records"
	case len(t.Dimensions) > 0 && (len(s.Dimensions) == 0 || !subset(s.Dimensions, t.Dimensions)):
		return "dimensions"
	case !subset(s.Persons, t.Persons):
		return "persons"
	case s.From < t.From:
		return "from"
	case s.To > t.To:
		return "to"
	}
	return ""
}

func subset[T comparable](a, b []T) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// AccessRequest is a region's ask, on the national chain, to read other
// regions' records: signed by a key with the role n2 there, which becomes
// the grantee (the key that will sign the reads).
type AccessRequest struct {
	Scope  AccessScope
	Reason string
}

func (*AccessRequest) Kind() Kind   { return KindAccessRequest }
func (*AccessRequest) Signers() int { return 1 }
func (b *AccessRequest) fields(c *codec) {
	b.Scope.fields(c)
	c.str(&b.Reason, "reason", MaxAccessReason)
	if c.mode == checking && b.Reason == "" {
		c.fail("reason", "a request says why it asks")
	}
	if c.mode == checking {
		if k := IdentifierIn(b.Reason); k != "" {
			c.fail("reason", "seems to hold %s: name persons in the scope, by pseudonym", k)
		}
	}
}

// AccessGrant is the national N1's approval of a request (Request, its
// transaction id): the grantee (the request's signer), the scope (within
// the request's) and the expiry, Unix seconds. Carried down in an
// intel_summary, it is what a serving chain's node checks a read
// against.
type AccessGrant struct {
	Request Hash
	Grantee [32]byte
	Scope   AccessScope
	Expires int64
}

func (*AccessGrant) Kind() Kind   { return KindAccessGrant }
func (*AccessGrant) Signers() int { return 1 }
func (b *AccessGrant) fields(c *codec) {
	c.bytes32((*[32]byte)(&b.Request), "request")
	c.bytes32(&b.Grantee, "grantee")
	b.Scope.fields(c)
	c.time(&b.Expires, "expires")
}

// AccessRevoke is the national N1's withdrawal of a grant (Grant, its
// access_grant's transaction id) before its expiry, with the reason.
// Carried down as the grant was, it closes the grant on every chain that
// holds it, and keeps it from being taken where it has not arrived yet.
type AccessRevoke struct {
	Grant  Hash
	Reason string
}

func (*AccessRevoke) Kind() Kind   { return KindAccessRevoke }
func (*AccessRevoke) Signers() int { return 1 }
func (b *AccessRevoke) fields(c *codec) {
	c.bytes32((*[32]byte)(&b.Grant), "grant")
	c.str(&b.Reason, "reason", MaxAccessReason)
	if c.mode == checking && b.Reason == "" {
		c.fail("reason", "a revocation says why")
	}
	if c.mode == checking {
		if k := IdentifierIn(b.Reason); k != "" {
			c.fail("reason", "seems to hold %s: a reason names no person", k)
		}
	}
}
