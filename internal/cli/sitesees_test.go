package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSiteLearnsNoOtherRecord: a site's record that is impossible given
// another record of the person is refused, and the refusal a site operator
// reads says so without naming that record, its site or its times (the
// adversarial pass found a site could ask where anyone had been); the
// authority, importing the same record, reads which record it contradicts.
func TestSiteLearnsNoOtherRecord(t *testing.T) {
	t.Parallel()
	d := t.TempDir()
	dir := filepath.Join(d, "home")
	mustRun(t, "init", "--home", dir)
	siteKey, sitePub := desk(t, d, "site")
	mustRun(t, "role", "grant", "--home", dir, "--key", sitePub, "--role", "site", "--name", "shop 9")
	res, _ := importResult(t, "--home", dir, writeFile(t, "registry.ndjson", `{"type":"site","site":"shop-9","kind":"shop","lat":31.2,"lon":121.4,"key":"`+sitePub+`"}
{"type":"site","site":"ferris-wheel-cabin-12","kind":"venue","lat":31.23,"lon":121.47}
{"type":"site","site":"office-9","kind":"office","lat":31.2,"lon":121.4}
{"type":"identity","id":"420100199001011234"}
{"type":"visit","site":"ferris-wheel-cabin-12","person":"id:420100199001011234","in":"2020-01-20T13:30:00+08:00","out":"2020-01-20T13:50:00+08:00"}
`))
	if res.Accepted != 5 {
		t.Fatalf("setup: %+v", res)
	}
	mustRun(t, "validate", "close", "--home", dir, "--until", "2020-01-23T00:00:00+08:00")
	probeText := `{"type":"visit","site":"shop-9","person":"id:420100199001011234","in":"2020-01-20T13:35:00+08:00","out":"2020-01-20T13:45:00+08:00"}
`
	probe := writeFile(t, "probe.ndjson", probeText)
	url, stop := startNode(t, dir)
	res, codes := importResult(t, "--home", filepath.Dir(siteKey), "--node", url, "--as", siteKey, probe)
	stop()
	if codes[1] != "conflict" {
		t.Fatalf("the site's impossible visit: %+v", res)
	}
	for _, leak := range []string{"ferris", "13:30", "05:30", "13:50", "05:50", "tx "} {
		if strings.Contains(res.Rejections[0].Msg, leak) {
			t.Errorf("the site reads %q in the refusal: %s", leak, res.Rejections[0].Msg)
		}
	}
	res, codes = importResult(t, "--home", dir, writeFile(t, "probe-office.ndjson", strings.ReplaceAll(probeText, "shop-9", "office-9")))
	if codes[1] != "conflict" || !strings.Contains(res.Rejections[0].Msg, "ferris-wheel-cabin-12") {
		t.Errorf("the authority reads which record the visit contradicts: %+v", res)
	}
}
