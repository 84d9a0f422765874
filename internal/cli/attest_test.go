package cli_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestAttestFlow (issue 17): a newsroom attests a rumour's text as news
// first, the CDC the same text after it; anyone's check names the
// newsroom as its first publisher, from the node or a saved answer, by
// file or by hash; a tampered answer is INVALID; a key with no role, a
// second attestation by the same key and an identifier in an evidence's
// source are refused.
func TestAttestFlow(t *testing.T) {
	t.Parallel()
	_, url, keys, _ := jianghan(t, map[string]string{"newsroom": "node", "cdc": "investigator", "union": "hospital", "stranger": ""})
	rumour := writeFile(t, "rumour.txt", "华南海鲜市场确诊了7例SARS (a SARS-like pneumonia in Wuhan)\n")
	sum := sha256.Sum256([]byte("华南海鲜市场确诊了7例SARS (a SARS-like pneumonia in Wuhan)\n"))
	content := hex.EncodeToString(sum[:])
	out := mustRun(t, "attest", "--node", url, "--key", keys["newsroom"], "--kind", "news", "--source", "https://weibo.com/1234567890/4462468883439456",
		"--time", "2019-12-30T17:43:00+08:00", rumour)
	m := regexp.MustCompile(`news attestation of content ([0-9a-f]{64}): tx ([0-9a-f]{64}) at height \d+`).FindStringSubmatch(out)
	if m == nil || m[1] != content {
		t.Fatalf("the newsroom's attestation: %s", out)
	}
	first := m[2]
	mustRun(t, "attest", "--node", url, "--key", keys["cdc"], "--kind", "news", "--source", "https://weibo.com/1234567890/4462468883439456", rumour)
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"attest", "--node", url, "--key", keys["stranger"], "--kind", "news", rumour}, "role"},
		{[]string{"attest", "--node", url, "--key", keys["newsroom"], "--kind", "news", rumour}, "attested this content already"},
		{[]string{"attest", "--node", url, "--key", keys["union"], "--kind", "rumour", rumour}, "--kind"},
		{[]string{"attest", "--node", url, "--key", keys["union"], "--kind", "insurance-evidence", "--source", "patient 420100199001010001", rumour}, "an ID number"},
		{[]string{"attest", "--node", url, "--key", keys["union"], "--kind", "news", "no-such-file"}, "no-such-file"},
	} {
		if _, errs, code := run(t, bad.args...); code == 0 || !strings.Contains(errs, bad.want) {
			t.Errorf("%v: exit %d %s", bad.args[5:], code, errs)
		}
	}

	saved := writeFile(t, "rumour.json", "")
	out = mustRun(t, "attest", "check", "--node", url, rumour, "--save", saved)
	for _, want := range []string{
		"content " + content + ": first attested by newsroom (",
		", node), 2019-12-30T17:43:00+08:00, in block ",
		"(tx " + first[:16] + ")",
		"  1. 2019-12-30T17:43:00+08:00  news               by newsroom, from https://weibo.com/1234567890/4462468883439456",
		"  2. ", "by cdc, from https://weibo.com/",
		"ok: 2 attestation(s) proven in their blocks, in chain order",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check: no %q in\n%s", want, out)
		}
	}
	if again := mustRun(t, "attest", "check", "--node", url, "--hash", strings.ToUpper(content)); again != out {
		t.Errorf("check by hash:\n%s\nby file:\n%s", again, out)
	}
	if offline := mustRun(t, "attest", "check", "--file", saved, rumour); offline != out {
		t.Errorf("check of the saved answer:\n%s", offline)
	}
	other := writeFile(t, "other.txt", "another text")
	if out := mustRun(t, "attest", "check", "--node", url, other); !strings.Contains(out, "NO ONE ATTESTED IT") {
		t.Errorf("check of a text no one attested:\n%s", out)
	}
	if out, _, code := run(t, "attest", "check", "--file", saved, other); code != 1 || !strings.HasPrefix(out, "INVALID: the answer is about content") {
		t.Errorf("a saved answer about another content: exit %d %s", code, out)
	}

	// Tampered: the CDC said to be first, the order swapped, a proof
	// taken out, a source changed.
	v := savedAnswer(t, saved)
	list, proofs := v["attestations"].([]any), v["proofs"].([]any)
	for _, tc := range []struct {
		name, want string
		tamper     func(m map[string]any)
	}{
		{"the second said first", "the answer's first is not the first it lists", func(m map[string]any) { m["first"] = list[1] }},
		{"order swapped", "out of chain order", func(m map[string]any) {
			m["attestations"], m["proofs"], m["first"] = []any{list[1], list[0]}, []any{proofs[1], proofs[0]}, list[1]
		}},
		{"proof removed", "2 attestations, 1 proofs", func(m map[string]any) { m["proofs"] = []any{proofs[0]} }},
		{"proofs swapped", "the proof is of transaction", func(m map[string]any) { m["proofs"] = []any{proofs[1], proofs[0]} }},
		{"source changed", "not its transaction's", func(m map[string]any) {
			a := map[string]any{}
			for k, x := range list[0].(map[string]any) {
				a[k] = x
			}
			a["source"] = "https://example.org/elsewhere"
			m["attestations"], m["first"] = []any{a, list[1]}, a
		}},
		{"another content", "attests another content", func(m map[string]any) { m["content"] = strings.Repeat("0", 64) }},
		{"an unknown field", "not a content's attestations", func(m map[string]any) { m["verified"] = true }},
		// Leaving the first out is what a node can do undetected: the
		// answer proves what it lists, and says so.
		{"the first left out", "", func(m map[string]any) {
			m["attestations"], m["proofs"], m["first"] = []any{list[1]}, []any{proofs[1]}, list[1]
		}},
	} {
		m := map[string]any{}
		for k, x := range v {
			m[k] = x
		}
		tc.tamper(m)
		raw, _ := json.Marshal(m)
		out, _, code := run(t, "attest", "check", "--file", writeFile(t, "tampered.json", string(raw)))
		if tc.want == "" {
			if code != 0 || !strings.Contains(out, "first attested by cdc") || !strings.Contains(out, "cannot show that none was left out") {
				t.Errorf("%s: exit %d %s", tc.name, code, out)
			}
			continue
		}
		if code != 1 || !strings.HasPrefix(out, "INVALID") || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d %s", tc.name, code, out)
		}
	}
	if _, errs, code := run(t, "attest", "check", "--node", url, rumour, "--hash", content); code == 0 || !strings.Contains(errs, "not both") {
		t.Errorf("FILE and --hash: exit %d %s", code, errs)
	}
}
