package store

// Donations (issue 17, docs/SUPPLY.md), written by the state machine:
//
//	# pledge                  -> a donation: its pledge, what arrived, what it bought, where it went, its steps (state)
//	$ shipment                -> the donation a supply shipment carries, and how (received, bought, allocated) (state)
//	% scope who gtin          -> public totals of a charity ('c'), a hospital ('h') or a product ('g'); gtin "" the money (state)
//	& scope who pledge        -> the donations a charity took, a hospital was allocated, a product was given under (state)
const (
	TabDonation      = '#'
	TabDonationShip  = '$'
	TabDonationTotal = '%'
	TabDonationIndex = '&'
)

// Scopes of the public totals.
const (
	ScopeCharity  = 'c'
	ScopeHospital = 'h'
	ScopeProduct  = 'g'
)

// DonationKey is the key of donation id (its pledge's transaction).
func DonationKey(id [32]byte) []byte { return key(TabDonation, id[:]) }

// DonationShipKey is the key of the donation shipment id carries.
func DonationShipKey(id [32]byte) []byte { return key(TabDonationShip, id[:]) }

// DonationTotalKey is the key of who's totals in scope, of product gtin
// ("" the money and counts).
func DonationTotalKey(scope byte, who []byte, gtin string) []byte {
	return key(TabDonationTotal, []byte{scope, byte(len(who))}, who, []byte(gtin))
}

// DonationTotalRange bounds who's totals in scope.
func DonationTotalRange(scope byte, who []byte) (lo, hi []byte) {
	lo = key(TabDonationTotal, []byte{scope, byte(len(who))}, who)
	return lo, PrefixEnd(lo)
}

// DonationIndexKey indexes donation id under who in scope.
func DonationIndexKey(scope byte, who []byte, id [32]byte) []byte {
	return key(TabDonationIndex, []byte{scope, byte(len(who))}, who, id[:])
}

// DonationIndexRange bounds the donations under who in scope.
func DonationIndexRange(scope byte, who []byte) (lo, hi []byte) {
	lo = key(TabDonationIndex, []byte{scope, byte(len(who))}, who)
	return lo, PrefixEnd(lo)
}

func init() {
	StateTables = append(StateTables, TabDonation, TabDonationShip, TabDonationTotal, TabDonationIndex)
	readBack[TabDonation], readBack[TabDonationShip], readBack[TabDonationTotal], readBack[TabDonationIndex] = true, true, true, true
}
