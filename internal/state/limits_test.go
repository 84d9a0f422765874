package state_test

import (
	"crypto/ed25519"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
)

// unixOf is the Unix time of an RFC 3339 string.
func unixOf(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.Unix()
}

// TestApplyRefusesOutOfRangeTimes applies, for every record time of every
// kind, values outside ledger.MinTime..MaxTime (before 1970, year 10000,
// the int64 extremes): each is an invalid rejection naming the field
// (issue 11: a visit dated 1969 was accepted and verify then failed). The
// bounds themselves are accepted where the rest of the record allows.
func TestApplyRefusesOutOfRangeTimes(t *testing.T) {
	t.Parallel()
	before1970 := unixOf("1969-12-01T08:00:00+08:00")
	year1 := unixOf("0001-01-01T00:00:00Z")
	year10000 := ledger.MaxTime + 1
	corr := func(in, out int64) *ledger.Tx {
		return sign(&ledger.Correction{Target: ledger.Hash{1}, Action: ledger.ActionAmend, In: in, Out: out, Reason: "r"}, authKey)
	}
	audit := func(from, to, at int64) *ledger.Tx {
		return sign(&ledger.Audit{Role: "investigator", Case: "c", Purpose: "p", Route: "r", From: from, To: to, Time: at}, authKey)
	}
	cases := []applyCase{
		{name: "visit_in_1969", txs: one(sign(visit("shop", direct(alice), before1970, before1970+60), shopKey)), code: state.CodeInvalid, field: "in"},
		{name: "visit_in_year_1", txs: one(sign(visit("shop", direct(alice), year1, year1+60), shopKey)), code: state.CodeInvalid, field: "in"},
		{name: "visit_in_minus_1s", txs: one(sign(visit("shop", direct(alice), -1, 60), shopKey)), code: state.CodeInvalid, field: "in"},
		{name: "visit_in_min_int64", txs: one(sign(visit("shop", direct(alice), math.MinInt64, now2), shopKey)), code: state.CodeInvalid, field: "in"},
		{name: "visit_out_max_int64", txs: one(sign(visit("shop", direct(alice), now2, math.MaxInt64), shopKey)), code: state.CodeInvalid, field: "out"},
		{name: "visit_out_year_10000", txs: one(sign(visit("shop", direct(alice), now2, year10000), shopKey)), code: state.CodeInvalid, field: "out"},
		{name: "visit_in_0_out_0", txs: one(sign(visit("shop", direct(alice), 0, 0), shopKey))},
		{name: "move_depart_1969", txs: one(sign(move(direct(alice), "st-a", "st-b", before1970, now2), stAKey, stBKey)), code: state.CodeInvalid, field: "depart"},
		{name: "move_arrive_max_int64", txs: one(sign(move(direct(alice), "st-a", "st-b", now2, math.MaxInt64), stAKey, stBKey)), code: state.CodeInvalid, field: "arrive"},
		{name: "case_reported_1969", txs: one(sign(report(direct(alice), "confirmed", "", "hosp", before1970), hospKey)), code: state.CodeInvalid, field: "reported"},
		{name: "case_reported_min_int64", txs: one(sign(report(direct(alice), "confirmed", "", "hosp", math.MinInt64), hospKey)), code: state.CodeInvalid, field: "reported"},
		{name: "case_onset_1969", txs: one(sign(report(direct(alice), "confirmed", "1969-12-31", "hosp", now2), hospKey)), code: state.CodeInvalid, field: "onset"},
		{name: "case_onset_year_1", txs: one(sign(report(direct(alice), "confirmed", "0001-01-01", "hosp", now2), hospKey)), code: state.CodeInvalid, field: "onset"},
		{name: "case_onset_1970", txs: one(sign(report(direct(alice), "confirmed", "1970-01-01", "hosp", now2), hospKey))},
		{name: "encounter_start_1969", prior: devices(), txs: one(sign(meet("tag", direct(alice), direct(bob), before1970, 60), tagKey)), code: state.CodeInvalid, field: "start"},
		{name: "encounter_start_min_int64", prior: devices(), txs: one(sign(meet("tag", direct(alice), direct(bob), math.MinInt64, 60), tagKey)), code: state.CodeInvalid, field: "start"},
		{name: "close_windows_until_1969", txs: one(sign(&ledger.CloseWindows{Until: before1970}, authKey)), code: state.CodeInvalid, field: "until"},
		{name: "close_windows_until_max_int64", txs: one(sign(&ledger.CloseWindows{Until: math.MaxInt64}, authKey)), code: state.CodeInvalid, field: "until"},
		{name: "close_windows_until_max_time", txs: one(sign(&ledger.CloseWindows{Until: ledger.MaxTime}, authKey))},
		{name: "commit_root_period_minus_1", txs: one(sign(&ledger.CommitRoot{Scheme: "s", Period: -1}, authKey)), code: state.CodeInvalid, field: "period"},
		{name: "correction_in_1969", txs: one(corr(before1970, now2)), code: state.CodeInvalid, field: "in"},
		{name: "correction_out_max_int64", txs: one(corr(now2, math.MaxInt64)), code: state.CodeInvalid, field: "out"},
		{name: "annulment_with_times", txs: one(sign(&ledger.Correction{Target: ledger.Hash{1}, Action: ledger.ActionAnnul, In: now2, Out: now2}, authKey)), code: state.CodeInvalid, field: "in"},
		{name: "audit_time_minus_1", txs: one(audit(0, 1, -1)), code: state.CodeInvalid, field: "time"},
		{name: "audit_window_backwards", txs: one(audit(2, 1, now2)), code: state.CodeInvalid, field: "to"},
		{name: "audit_window_min_int64", txs: one(audit(math.MinInt64, 1, now2)), code: state.CodeInvalid, field: "to"},
		{name: "audit_window_everything", txs: one(audit(-ledger.MaxWindow, ledger.MaxWindow, now2))},
	}
	runApplyCases(t, cases)
}

// TestApplyRefusesNonText applies records whose text fields hold control
// characters, U+FFFD or more bytes than the field allows: each is an
// invalid rejection naming the field, never accepted (issue 11).
func TestApplyRefusesNonText(t *testing.T) {
	t.Parallel()
	withName := func(name string) *ledger.Tx {
		s := site("new", "shop", "", newSiteKey)
		s.Name = name
		return sign(s, authKey)
	}
	v := func(via, role string) *ledger.Tx {
		b := visit("shop", direct(alice), now2-60, now2)
		b.Via, b.Role = via, role
		return sign(b, shopKey)
	}
	cases := []applyCase{
		{name: "site_name_plain", txs: one(withName("the new shop"))},
		{name: "site_name_nul", txs: one(withName("the\x00shop")), code: state.CodeInvalid, field: "name"},
		{name: "site_name_newline", txs: one(withName("the\nshop")), code: state.CodeInvalid, field: "name"},
		{name: "site_name_del", txs: one(withName("the\x7fshop")), code: state.CodeInvalid, field: "name"},
		{name: "site_name_c1", txs: one(withName("the\u0085shop")), code: state.CodeInvalid, field: "name"},
		{name: "site_name_fffd", txs: one(withName("the\ufffdshop")), code: state.CodeInvalid, field: "name"},
		{name: "site_id_tab", txs: one(sign(site("new\t1", "shop", "", newSiteKey), authKey)), code: state.CodeInvalid, field: "site"},
		{name: "visit_via_escape", txs: one(v("qr\x1b[31m", "customer")), code: state.CodeInvalid, field: "via"},
		{name: "visit_role_cr", txs: one(v("qr", "staff\r")), code: state.CodeInvalid, field: "role"},
		{name: "grant_role_name_bell", txs: one(sign(&ledger.GrantRole{Key: [32]byte{7}, Role: ledger.RoleAuditor, Name: "a\x07"}, authKey)), code: state.CodeInvalid, field: "name"},
		{name: "grant_role_name_128", txs: one(sign(&ledger.GrantRole{Key: [32]byte{7}, Role: ledger.RoleAuditor, Name: strings.Repeat("n", 128)}, authKey))},
		{name: "publish_topic_nul", txs: one(sign(&ledger.Publish{Topic: "privacy\x00x"}, authKey)), code: state.CodeInvalid, field: "topic"},
	}
	runApplyCases(t, cases)
}

// TestAuditSigners: an audit record is signed by the chain authority or by
// a consortium member's node key holding the role node; a key holding
// another role, a revoked node key or a stranger is refused (issue 13).
func TestAuditSigners(t *testing.T) {
	t.Parallel()
	nodeKey, invKey := key("railway-node"), key("investigator-7")
	grant := func(k ed25519.PrivateKey, role string) *ledger.Tx {
		return sign(&ledger.GrantRole{Key: pub(k), Role: role, Name: role}, authKey)
	}
	audit := func(k ed25519.PrivateKey, n byte) *ledger.Tx {
		return sign(&ledger.Audit{Caller: pub(invKey), Role: ledger.RoleInvestigator, Case: "c", Purpose: "p", Route: "r", Request: ledger.Hash{n}, Time: now2}, k)
	}
	runApplyCases(t, []applyCase{
		{name: "authority", txs: one(audit(authKey, 1))},
		{name: "node_role", prior: one(grant(nodeKey, ledger.RoleNode)), txs: one(audit(nodeKey, 2))},
		// A grant counts from the next block (the role is read from the
		// committed state), so an audit in the grant's own block is refused.
		{name: "node_role_granted_in_the_same_block", txs: []*ledger.Tx{grant(nodeKey, ledger.RoleNode), audit(nodeKey, 3)}, code: state.CodeWrongSigner, field: "signature"},
		{name: "investigator_role", prior: one(grant(invKey, ledger.RoleInvestigator)), txs: one(audit(invKey, 4)), code: state.CodeWrongSigner, field: "signature"},
		{name: "node_role_revoked", prior: []*ledger.Tx{grant(nodeKey, ledger.RoleNode), grant(nodeKey, ledger.RoleNone)}, txs: one(audit(nodeKey, 5)), code: state.CodeWrongSigner, field: "signature"},
		{name: "stranger", txs: one(audit(nodeKey, 6)), code: state.CodeWrongSigner, field: "signature"},
	})
}
