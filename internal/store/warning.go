package store

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

func init() {
	StateTables = append(StateTables, TabRule, TabAlert, TabSiteCase)
	// A rule set in the block of the card it runs on; two cards, one alert.
	readBack[TabRule], readBack[TabAlert], readBack[TabSiteCase] = true, true, true
}
