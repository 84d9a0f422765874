package store

// Medical supplies (issue 17, docs/SUPPLY.md), written by the state
// machine. A code is an item's GS1 Digital Link path ("01/{gtin}/21/{serial}"
// or "01/{gtin}/10/{lot}"):
//
//	7 code                         -> the item: what commissioning said, and an instance's holder and state (state)
//	8 custodian code               -> units of the item the custodian holds (state)
//	9 offer                        -> a shipment: giver, receiver, items, and the receipt that took it (state)
//	0 len(code) code height seq tx -> a transaction that named the item, seq its place among the block's accepted (state: its provenance)
//	= len(code) code height seq tx kind -> a counterfeit signal raised on the item (state)
//	~ receiver ref                 -> the latest shipment to the receiver under a business transaction (state)
const (
	TabSupplyItem    = '7'
	TabHolding       = '8'
	TabOffer         = '9'
	TabSupplyHistory = '0'
	TabSupplySignal  = '='
	TabOfferRef      = '~'
)

// OfferRefKey is the key of the latest shipment to receiver under
// business transaction ref.
func OfferRefKey(receiver [32]byte, ref string) []byte {
	return key(TabOfferRef, receiver[:], []byte(ref))
}

// SupplyItemKey is the key of item code.
func SupplyItemKey(code string) []byte { return key(TabSupplyItem, []byte(code)) }

// HoldingKey is the key of custodian's holding of item code.
func HoldingKey(custodian [32]byte, code string) []byte {
	return key(TabHolding, custodian[:], []byte(code))
}

// HoldingRange bounds custodian's holdings.
func HoldingRange(custodian [32]byte) (lo, hi []byte) {
	lo = key(TabHolding, custodian[:])
	return lo, PrefixEnd(lo)
}

// OfferKey is the key of shipment id.
func OfferKey(id [32]byte) []byte { return key(TabOffer, id[:]) }

// SupplyHistoryKey indexes transaction tx, the seq-th accepted at
// height, under item code.
func SupplyHistoryKey(code string, height uint64, seq uint32, tx [32]byte) []byte {
	return key(TabSupplyHistory, []byte{byte(len(code))}, []byte(code), u64(height), u32(seq), tx[:])
}

// SupplyHistoryRange bounds item code's transactions.
func SupplyHistoryRange(code string) (lo, hi []byte) {
	lo = key(TabSupplyHistory, []byte{byte(len(code))}, []byte(code))
	return lo, PrefixEnd(lo)
}

// SupplySignalKey is the key of a signal of kind on item code, raised by
// transaction tx, the seq-th accepted at height.
func SupplySignalKey(code string, height uint64, seq uint32, tx [32]byte, kind byte) []byte {
	return key(TabSupplySignal, []byte{byte(len(code))}, []byte(code), u64(height), u32(seq), tx[:], []byte{kind})
}

// SupplySignalRange bounds item code's signals (every item's with all).
func SupplySignalRange(code string, all bool) (lo, hi []byte) {
	if all {
		return []byte{TabSupplySignal}, []byte{TabSupplySignal + 1}
	}
	lo = key(TabSupplySignal, []byte{byte(len(code))}, []byte(code))
	return lo, PrefixEnd(lo)
}

func init() {
	StateTables = append(StateTables, TabSupplyItem, TabHolding, TabOffer, TabSupplyHistory, TabSupplySignal, TabOfferRef)
	readBack[TabOfferRef] = true
	// A shipment received, an item shipped on, in the block that made it.
	readBack[TabSupplyItem], readBack[TabHolding], readBack[TabOffer] = true, true, true
	readBack[TabSupplyHistory], readBack[TabSupplySignal] = true, true
}

// Needs and allocations (issue 17):
//
//	> gtin hospital          -> a hospital's declared need of the product and the units charities allocated it (state)
//	< gtin height shipment seq -> a flag on a charity's allocation that goes against the declared needs (state)
const (
	TabNeed      = '>'
	TabAllocFlag = '<'
)

// NeedKey is the key of hospital's need of gtin.
func NeedKey(gtin string, hospital [32]byte) []byte { return key(TabNeed, []byte(gtin), hospital[:]) }

// NeedRange bounds the needs of gtin.
func NeedRange(gtin string) (lo, hi []byte) {
	lo = key(TabNeed, []byte(gtin))
	return lo, PrefixEnd(lo)
}

// AllocFlagKey is the key of the seq-th flag on shipment id, of product
// gtin, at height.
func AllocFlagKey(gtin string, height uint64, id [32]byte, seq uint8) []byte {
	return key(TabAllocFlag, []byte(gtin), u64(height), id[:], []byte{seq})
}

// AllocFlagRange bounds the allocation flags of product gtin.
func AllocFlagRange(gtin string) (lo, hi []byte) {
	lo = key(TabAllocFlag, []byte(gtin))
	return lo, PrefixEnd(lo)
}

func init() {
	StateTables = append(StateTables, TabNeed, TabAllocFlag)
	readBack[TabNeed], readBack[TabAllocFlag] = true, true
}
