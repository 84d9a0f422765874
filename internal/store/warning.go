package store

import "slices"

// Warning rules and their alerts (issue 16, docs/WARNING.md), written by
// the state machine:
//
//	P name  -> a warning rule: the transaction that set it (state)
//	S alert -> an alert: its rule, region, day, records and life (state)
//	1 siteNum day patient -> the card of a patient who was at the site that day (state: site clusters)
const (
	TabRule     = 'P'
	TabAlert    = 'S'
	TabSiteCase = '1'
)

// SiteCaseKey indexes patient's card under a site and a day it was there.
func SiteCaseKey(site, day uint32, patient [32]byte) []byte {
	return key(TabSiteCase, u32(site), u32(day), patient[:])
}

// SiteCaseRange bounds the patients at site from day from to to.
func SiteCaseRange(site, from, to uint32) (lo, hi []byte) {
	return key(TabSiteCase, u32(site), u32(from)), key(TabSiteCase, u32(site), u32(to+1))
}

// RuleKey is the key of warning rule name.
func RuleKey(name string) []byte { return key(TabRule, []byte(name)) }

// RuleRange bounds every warning rule.
func RuleRange() (lo, hi []byte) { return []byte{TabRule}, []byte{TabRule + 1} }

// AlertKey is the key of alert id.
func AlertKey(id [32]byte) []byte { return key(TabAlert, id[:]) }

// AlertRange bounds every alert.
func AlertRange() (lo, hi []byte) { return []byte{TabAlert}, []byte{TabAlert + 1} }

// The records an alert names, one key each, in the order they joined it
// (so that a card joining an alert writes 33 bytes, not the alert's
// whole list again):
//
//	6 alert index -> a record the alert names: a report card, or the transaction that carried counts up (state)
const TabAlertRecord = '6'

// AlertRecordKey is the key of alert id's i-th record.
func AlertRecordKey(id [32]byte, i uint8) []byte { return key(TabAlertRecord, id[:], []byte{i}) }

// AlertRecordRange bounds alert id's records (every alert's, for the
// zero id with all set false).
func AlertRecordRange(id [32]byte, all bool) (lo, hi []byte) {
	if all {
		return []byte{TabAlertRecord}, []byte{TabAlertRecord + 1}
	}
	lo = key(TabAlertRecord, id[:])
	return lo, PrefixEnd(lo)
}

func init() {
	StateTables = append(StateTables, TabRule, TabAlert, TabSiteCase, TabAlertRecord)
	// A rule set in the block of the card it runs on; two cards, one alert.
	readBack[TabRule], readBack[TabAlert], readBack[TabSiteCase], readBack[TabAlertRecord] = true, true, true, true
}

// Space-time clusters (the space-time rule):
//
//	3 len(disease) disease tileLat tileLon day card -> a counted card's place (its ledger.Cell), under its 0.1-degree tile (state)
//	4 len(rule) rule card -> the space-time alert that names the card (state)
//
// A tile is ten cells a side, so that the cards around a place are read
// in a few short scans whatever the rule's distance.
const (
	TabCardPlace   = '3'
	TabClusterCard = '4'
)

// TileOf is the tile of a cell coordinate (hundredths of a degree).
func TileOf(v int32) int32 {
	if v < 0 {
		return -((-v + 9) / 10)
	}
	return v / 10
}

// signed orders a signed number as its unsigned key bytes.
func signed(v int32) []byte { return u32(uint32(v) ^ 1<<31) }

// CardPlaceKey indexes card, counted on day, under its place's tile.
func CardPlaceKey(disease string, tileLat, tileLon int32, day uint32, card [32]byte) []byte {
	return key(TabCardPlace, []byte{byte(len(disease))}, []byte(disease), signed(tileLat), signed(tileLon), u32(day), card[:])
}

// CardPlaceRange bounds the cards of disease in one tile from day from to to.
func CardPlaceRange(disease string, tileLat, tileLon int32, from, to uint32) (lo, hi []byte) {
	p := key(TabCardPlace, []byte{byte(len(disease))}, []byte(disease), signed(tileLat), signed(tileLon))
	return append(slices.Clip(p), u32(from)...), append(slices.Clip(p), u32(to+1)...)
}

// ClusterCardKey is the key of the space-time alert of rule that names card.
func ClusterCardKey(rule string, card [32]byte) []byte {
	return key(TabClusterCard, []byte{byte(len(rule))}, []byte(rule), card[:])
}

func init() {
	StateTables = append(StateTables, TabCardPlace, TabClusterCard)
	// A cluster's cards may all be in one block.
	readBack[TabCardPlace], readBack[TabClusterCard] = true, true
}

// Level totals (a rule "over" a region):
//
//	5 len(disease) disease len(region) region day -> the cases reported that day with a home district within the region, by classification (state)
//
// Kept only for the regions an active rule runs over (rebuilt from the
// districts' counts when such a rule is set), so that a city's or a
// province's series is read as one district's is.
const TabTotal = '5'

// TotalKey is the key of the total of disease within region on day.
func TotalKey(disease, region string, day uint32) []byte {
	return dayKey(TabTotal, disease, region, day)
}

// TotalRange bounds the totals of disease within region from day from to
// to (to ^0: every day from from).
func TotalRange(disease, region string, from, to uint32) (lo, hi []byte) {
	return dayRange(TabTotal, disease, region, from, to)
}

// CardDayPrefix bounds the cards of disease in every region and day.
func CardDayPrefix(disease string) (lo, hi []byte) {
	lo = key(TabCardDay, []byte{byte(len(disease))}, []byte(disease))
	return lo, PrefixEnd(lo)
}

func init() {
	StateTables = append(StateTables, TabTotal)
	readBack[TabTotal] = true
}
