package ledger

import "slices"

// Warning rules and the alerts they raise (issue 16, docs/WARNING.md).
// Rules are data on the chain, set by the authorities (k of n, as
// corrections); the state machine runs them on the block's own report
// cards, so that an alert is committed in the block of the report that
// tripped it. Each step of an alert's life is a signed record.

// Rule methods.
const (
	RuleThreshold = "threshold" // Cases or more in one district within Days days
	RuleEARSC1    = "ears-c1"   // CDC's EARS on daily counts (internal/detect)
	RuleEARSC2    = "ears-c2"
	RuleEARSC3    = "ears-c3"
	// RulePercentile: CIDARS's moving percentile, the last Days days'
	// count against the same weeks of past years (internal/detect).
	RulePercentile = "percentile"
	// RuleSiteCluster: Cases or more patients of the disease who were at
	// one site (the mobility ledger's presences) within Days days.
	RuleSiteCluster = "site-cluster"
	// RuleSpaceTime: Cases or more cases of the disease whose cards'
	// places (CardFields.Place) lie within Meters of one another's, as
	// seen from the newest, reported within Days days.
	RuleSpaceTime = "space-time"
)

// RuleMethods lists the rule methods.
var RuleMethods = []string{RuleThreshold, RuleEARSC1, RuleEARSC2, RuleEARSC3, RulePercentile, RuleSiteCluster, RuleSpaceTime}

// MaxRuleDays bounds a threshold rule's window, MaxSiteClusterDays a
// site or space-time cluster's (a patient's presences, or the cards
// around a place, are read over it), MaxClusterMeters a space-time
// cluster's radius (a neighbourhood, not a province).
const (
	MaxRuleDays        = 366
	MaxSiteClusterDays = 30
	MaxClusterMeters   = 20000
)

// WarningRule sets (or, by its Name, replaces) a warning rule: for
// Disease, by Method with its parameters, proposing response Level for
// its alerts. Active false retires it. Signed by 1+Cosigners keys, the
// authorities' k of n.
type WarningRule struct {
	Name    string
	Disease string
	Method  string
	// Cases and Days: a threshold rule alarms at Cases cases (of every
	// classification) reported in one home district within Days days.
	Cases uint32
	Days  uint16
	// Baseline, Alpha and MinSigma are an EARS rule's (internal/detect:
	// Alpha and MinSigma fixed point, 10^-6; zero for the defaults).
	Baseline uint16
	Alpha    int64
	MinSigma int64
	// Years, Weeks and Percentile are a percentile rule's (zero for the
	// defaults: 3 years, 2 weeks either side, P80); its Days is the
	// window summed (0: 7) and its Cases the least count that alarms
	// (0: 1).
	Years, Weeks, Percentile uint8
	// Meters is a space-time rule's distance (its Cases and Days as a
	// site cluster's).
	Meters uint32
	// Over, if set, is a region (a city, a province or the nation,
	// 000000) whose total the rule runs on, summed over its districts,
	// instead of each home district's count: a level's own rule on its
	// own level (threshold, EARS and percentile rules).
	Over      string
	Level     uint8
	Active    bool
	Cosigners uint8
}

// MaxRuleCosigners bounds a rule's signatures.
const MaxRuleCosigners = 15

func (*WarningRule) Kind() Kind     { return KindWarningRule }
func (b *WarningRule) Signers() int { return 1 + int(b.Cosigners) }
func (b *WarningRule) fields(c *codec) {
	c.str(&b.Name, "name", MaxTagLen)
	c.str(&b.Disease, "disease", MaxTagLen)
	c.str(&b.Method, "method", MaxTagLen)
	c.u32(&b.Cases, "cases")
	c.u16(&b.Days, "days")
	c.u16(&b.Baseline, "baseline")
	c.i64(&b.Alpha, "alpha")
	c.i64(&b.MinSigma, "min_sigma")
	c.u8(&b.Years, "years")
	c.u8(&b.Weeks, "weeks")
	c.u8(&b.Percentile, "percentile")
	c.u32(&b.Meters, "meters")
	c.str(&b.Over, "over", MaxTagLen)
	c.u8(&b.Level, "level")
	c.flag(&b.Active, "active")
	c.u8(&b.Cosigners, "cosigners")
	if c.mode != checking || c.err != nil {
		return
	}
	switch {
	case b.Name == "":
		c.fail("name", "a rule has a name")
	case !slices.Contains(Diseases, b.Disease):
		c.fail("disease", "not a disease code (%v)", Diseases)
	case !slices.Contains(RuleMethods, b.Method):
		c.fail("method", "threshold, ears-c1, ears-c2, ears-c3, percentile, site-cluster or space-time")
	case b.Level < 1 || b.Level > 4:
		c.fail("level", "a response level, 1 (I) to 4 (IV)")
	case b.Cosigners > MaxRuleCosigners:
		c.fail("cosigners", "at most %d", MaxRuleCosigners)
	case b.Method == RuleThreshold && (b.Cases == 0 || b.Days == 0 || b.Days > MaxRuleDays):
		c.fail("days", "a threshold rule counts 1 or more cases within 1 to %d days", MaxRuleDays)
	case b.Method == RuleSiteCluster && (b.Cases < 2 || b.Days == 0 || b.Days > MaxSiteClusterDays):
		c.fail("days", "a site cluster is 2 or more patients at one site within 1 to %d days", MaxSiteClusterDays)
	case b.Method == RuleSpaceTime && (b.Cases < 2 || b.Days == 0 || b.Days > MaxSiteClusterDays):
		c.fail("days", "a space-time cluster is 2 or more cases within 1 to %d days", MaxSiteClusterDays)
	case (b.Method == RuleSpaceTime) != (b.Meters != 0) || b.Meters > MaxClusterMeters:
		c.fail("meters", "a space-time rule's distance, 1 to %d metres (and only a space-time rule's)", MaxClusterMeters)
	case b.Over != "" && (b.Method == RuleSiteCluster || b.Method == RuleSpaceTime):
		c.fail("over", "a cluster rule looks at places, not a region's total")
	case b.Alpha < 0 || b.MinSigma < 0:
		c.fail("alpha", "not negative")
	}
}

// Alert actions: an alert's life after its signal. Verify assigns it to
// an investigator; the verification ends in discarded, monitored or a
// risk assessment; an assessment confirms an outbreak (or discards it);
// a confirmed outbreak, or a monitored signal, is closed.
const (
	AlertVerify  = "verify"
	AlertDiscard = "discard"
	AlertMonitor = "monitor"
	AlertAssess  = "assess"
	AlertConfirm = "confirm"
	AlertClose   = "close"
)

// AlertActions lists the alert actions.
var AlertActions = []string{AlertVerify, AlertDiscard, AlertMonitor, AlertAssess, AlertConfirm, AlertClose}

// AlertAction is one step of an alert's life, signed by an investigator
// (the CDC): Assignee is the investigator a verification is assigned to.
type AlertAction struct {
	Alert    Hash
	Action   string
	Assignee [32]byte
	Note     string
}

func (*AlertAction) Kind() Kind   { return KindAlertAction }
func (*AlertAction) Signers() int { return 1 }
func (b *AlertAction) fields(c *codec) {
	c.bytes32((*[32]byte)(&b.Alert), "alert")
	c.str(&b.Action, "action", MaxTagLen)
	c.bytes32(&b.Assignee, "assignee")
	c.str(&b.Note, "note", MaxReasonLen)
	if c.mode != checking || c.err != nil {
		return
	}
	switch {
	case !slices.Contains(AlertActions, b.Action):
		c.fail("action", "verify, discard, monitor, assess, confirm or close")
	case b.Action == AlertVerify && b.Assignee == [32]byte{}:
		c.fail("assignee", "a verification is assigned to an investigator's key")
	case b.Action != AlertVerify && b.Assignee != [32]byte{}:
		c.fail("assignee", "only a verification is assigned")
	default:
		if k := IdentifierIn(b.Note); k != "" {
			c.fail("note", "seems to hold %s: a note names no person", k)
		}
	}
}
