package store

// Warning rules and their alerts (issue 16, docs/WARNING.md), written by
// the state machine:
//
//	P name  -> a warning rule: the transaction that set it (state)
//	S alert -> an alert: its rule, region, day, records and life (state)
const (
	TabRule  = 'P'
	TabAlert = 'S'
)

// RuleKey is the key of warning rule name.
func RuleKey(name string) []byte { return key(TabRule, []byte(name)) }

// RuleRange bounds every warning rule.
func RuleRange() (lo, hi []byte) { return []byte{TabRule}, []byte{TabRule + 1} }

// AlertKey is the key of alert id.
func AlertKey(id [32]byte) []byte { return key(TabAlert, id[:]) }

// AlertRange bounds every alert.
func AlertRange() (lo, hi []byte) { return []byte{TabAlert}, []byte{TabAlert + 1} }

func init() {
	StateTables = append(StateTables, TabRule, TabAlert)
	// A rule set in the block of the card it runs on; two cards, one alert.
	readBack[TabRule], readBack[TabAlert] = true, true
}
