package ledger

// MaxValidatorPower bounds one validator's voting power: far below
// CometBFT's limit on the total (2^60), so that no sum of a consortium's
// powers can overflow it.
const MaxValidatorPower = 1 << 40

// ValidatorChange proposes a change to the consortium's validators
// (issue 13, point 6): organisation Org runs the validator whose CometBFT
// consensus key (Ed25519) is Key with voting power Power. An organisation
// that is not a validator joins; one that is changes its power; Power 0
// is its leave (Key must then be its current key). It takes effect when
// enough of the chain's authorities approved it (an Approval naming its
// id, as a correction; the proposal is its proposer's approval); the
// CometBFT engine applies it two heights after the block that decided it.
type ValidatorChange struct {
	Org    string
	Key    [32]byte
	Power  int64
	Reason string
}

func (*ValidatorChange) Kind() Kind   { return KindValidatorChange }
func (*ValidatorChange) Signers() int { return 1 }
func (b *ValidatorChange) fields(c *codec) {
	c.str(&b.Org, "organisation", MaxNameLen)
	if c.mode == checking && b.Org == "" {
		c.fail("organisation", "required")
	}
	c.bytes32(&b.Key, "key")
	c.i64(&b.Power, "power")
	if b.Power < 0 || b.Power > MaxValidatorPower {
		c.fail("power", "must be 0 (leave) to %d", MaxValidatorPower)
	}
	c.str(&b.Reason, "reason", MaxReasonLen)
}
