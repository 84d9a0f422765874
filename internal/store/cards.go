package store

import "slices"

// Report cards and the daily counts they make (issue 16,
// docs/WARNING.md), written by the state machine:
//
//	E key                                  -> a doctor registered by a hospital: the hospital's key and the unit (state)
//	F card                                 -> a report card as it now stands: its latest version and fields (state)
//	I card version                         -> the transaction of each version of a card, from 0 (state)
//	M len(disease) disease region day      -> the cases reported that day (at +08:00) in that home region, by classification (state)
//	f len(disease) disease region day card -> the cards counted in that bucket, for the alerts that name them (state)
//	b len(disease) disease region day ver  -> the bucket's publications (publish_stats): figures and transaction (state)
//	2 len(chain) chain len(disease) disease region day -> a child's latest publication of a bucket, counted here (state)
//
// Counts are kept per reporting day, by the card's first version's day;
// a revision moves its card from one bucket to another that same day.
const (
	TabDoctor      = 'E'
	TabCard        = 'F'
	TabCardVersion = 'I'
	TabCount       = 'M'
	TabCardDay     = 'f'
	TabStatsPub    = 'b'
	TabCarriedPub  = '2'
)

// CarriedStatsKey is the key of child chain's latest publication of a
// bucket.
func CarriedStatsKey(chain, disease, region string, day uint32) []byte {
	return key(TabCarriedPub, []byte{byte(len(chain))}, []byte(chain), []byte{byte(len(disease))}, []byte(disease),
		[]byte{byte(len(region))}, []byte(region), u32(day))
}

// StatsPubKey is the key of version v of the publication of a bucket.
func StatsPubKey(disease, region string, day, v uint32) []byte {
	return key(TabStatsPub, []byte{byte(len(disease))}, []byte(disease), []byte{byte(len(region))}, []byte(region), u32(day), u32(v))
}

// StatsPubRange bounds the publications of a bucket.
func StatsPubRange(disease, region string, day uint32) (lo, hi []byte) {
	lo = key(TabStatsPub, []byte{byte(len(disease))}, []byte(disease), []byte{byte(len(region))}, []byte(region), u32(day))
	return lo, PrefixEnd(lo)
}

// CardDayKey indexes card under its bucket: disease, home region, day.
func CardDayKey(disease, region string, day uint32, card [32]byte) []byte {
	return key(TabCardDay, []byte{byte(len(disease))}, []byte(disease), []byte{byte(len(region))}, []byte(region), u32(day), card[:])
}

// CardDayRange bounds the cards of disease in region from day from to to.
func CardDayRange(disease, region string, from, to uint32) (lo, hi []byte) {
	p := key(TabCardDay, []byte{byte(len(disease))}, []byte(disease), []byte{byte(len(region))}, []byte(region))
	return append(slices.Clip(p), u32(from)...), append(slices.Clip(p), u32(to+1)...)
}

// DoctorKey is the key of doctor key k's registration.
func DoctorKey(k [32]byte) []byte { return key(TabDoctor, k[:]) }

// CardKey is the key of card id.
func CardKey(id [32]byte) []byte { return key(TabCard, id[:]) }

// CardRange bounds every card.
func CardRange() (lo, hi []byte) { return []byte{TabCard}, []byte{TabCard + 1} }

// CardVersionKey is the key of version n of card id.
func CardVersionKey(id [32]byte, n uint32) []byte {
	return key(TabCardVersion, id[:], u32(n))
}

// CardVersionRange bounds the versions of card id.
func CardVersionRange(id [32]byte) (lo, hi []byte) {
	lo = key(TabCardVersion, id[:])
	return lo, PrefixEnd(lo)
}

// CountKey is the key of the counts of disease in region on day (days
// since 1970-01-01 at +08:00).
func CountKey(disease, region string, day uint32) []byte {
	return dayKey(TabCount, disease, region, day)
}

// CountRange bounds the counts of disease in region from day from to to.
func CountRange(disease, region string, from, to uint32) (lo, hi []byte) {
	return dayRange(TabCount, disease, region, from, to)
}

// dayKey is the key of a disease's count in region on day in table tab.
func dayKey(tab byte, disease, region string, day uint32) []byte {
	return key(tab, []byte{byte(len(disease))}, []byte(disease), []byte{byte(len(region))}, []byte(region), u32(day))
}

// dayRange bounds dayKey's keys from day from to to (to ^0: every day
// from from).
func dayRange(tab byte, disease, region string, from, to uint32) (lo, hi []byte) {
	lo = dayKey(tab, disease, region, from)
	if to == ^uint32(0) {
		return lo, PrefixEnd(key(tab, []byte{byte(len(disease))}, []byte(disease), []byte{byte(len(region))}, []byte(region)))
	}
	return lo, dayKey(tab, disease, region, to+1)
}

// CountPrefix bounds the counts of disease in every region.
func CountPrefix(disease string) (lo, hi []byte) {
	lo = key(TabCount, []byte{byte(len(disease))}, []byte(disease))
	return lo, PrefixEnd(lo)
}

func init() {
	StateTables = append(StateTables, TabDoctor, TabCard, TabCardVersion, TabCount, TabCardDay, TabStatsPub, TabCarriedPub)
	// A card reviewed in the block that filed it, two cards in one bucket.
	readBack[TabDoctor], readBack[TabCard], readBack[TabCardVersion], readBack[TabCount], readBack[TabCardDay] = true, true, true, true, true
	readBack[TabStatsPub], readBack[TabCarriedPub] = true, true
}
