package console_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/epiledger/epiledger/internal/api"
	"github.com/epiledger/epiledger/internal/client"
	"github.com/epiledger/epiledger/internal/home"
	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/node"
	"github.com/epiledger/epiledger/internal/sim"
	"github.com/epiledger/epiledger/internal/testnode"
)

// The browser tests drive Debian's chromium (apt-get install chromium;
// .ci/run installs it) through chromedp against a node served in the
// test, and compare what the console shows with what the API answers.
// Without a browser they skip, saying so.

const workedPhone = "phone:13800000000"

// browserPath finds a Chromium; "" when there is none.
func browserPath() string {
	if p := os.Getenv("EPILEDGER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// city is a node serving a small simulated city and the worked case, with
// keys of the roles the tests log in with.
type city struct {
	h    *home.Home
	srv  *httptest.Server
	keys map[string]ed25519.PrivateKey
}

func newCity(t *testing.T) *city {
	t.Helper()
	h, n := testnode.New(t)
	var buf bytes.Buffer
	w := ndjson.NewWriter(&buf)
	if _, err := sim.Generate(sim.Config{People: 400, Days: 14, Seed: 1}, w); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.WorkedCase(w); err != nil {
		t.Fatal(err)
	}
	if res := testnode.Import(t, h, n, buf.String()); res.Rejected != 0 {
		t.Fatalf("import rejected %d: %v", res.Rejected, res.Rejections)
	}
	return serveCity(t, h, n, "investigator", "auditor", "site")
}

// serveCity serves n's API and grants a fresh key each role.
func serveCity(t testing.TB, h *home.Home, n *node.Node, roles ...string) *city {
	t.Helper()
	hd, err := api.New(n, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hd)
	t.Cleanup(srv.Close)
	c := &city{h: h, srv: srv, keys: map[string]ed25519.PrivateKey{}}
	for _, role := range roles {
		pub, key, _ := ed25519.GenerateKey(nil)
		body := fmt.Sprintf(`{"key":%q,"role":%q,"name":"test %s"}`, hex.EncodeToString(pub), role, role)
		req, _ := http.NewRequest("POST", srv.URL+"/v1/roles", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+h.APIToken())
		resp, err := srv.Client().Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("grant %s: %v %v", role, err, resp)
		}
		resp.Body.Close()
		c.keys[role] = key
	}
	return c
}

// client is an API client signing with role's key.
func (c *city) client(role string) *client.Client {
	cl := client.New(c.srv.URL, "")
	cl.Key, cl.ChainID = c.keys[role], c.h.Genesis.ChainID
	cl.Case, cl.Purpose = "case-browser", "checking the console"
	return cl
}

// token calls the API with the node operator's token and wants 200
// without an error in the answer.
func (c *city) token(t testing.TB, method, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.h.APIToken())
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || strings.Contains(string(b), `"error"`) {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
}

// submit signs b with keys, in order, and submits it with the node
// operator's token, wanting it accepted.
func (c *city) submit(t testing.TB, b ledger.Body, keys ...ed25519.PrivateKey) *ledger.Tx {
	t.Helper()
	tx := ledger.NewTx(b)
	for _, k := range keys {
		tx.Sign(c.h.Genesis.ChainID, k)
	}
	c.token(t, "POST", "/v1/txs", `{"txs":["`+base64.StdEncoding.EncodeToString(tx.Bytes())+`"]}`)
	return tx
}

// loginURL is a fresh one-time URL for role, as epiledger console gets it.
func (c *city) loginURL(t testing.TB, role string) string {
	t.Helper()
	lg, err := c.client(role).ConsoleLogin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return lg.URL
}

// signed calls the API as role and decodes the answer into out.
func (c *city) signed(t testing.TB, role, method, path, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	api.SignRequest(req, c.h.Genesis.ChainID, c.keys[role], "case-browser", "checking the console", []byte(body), time.Now())
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// browser starts a fresh headless Chromium (its own empty profile: no
// cookie of another test) with a 1280x800 window.
func browser(t testing.TB) context.Context {
	t.Helper()
	path := browserPath()
	if path == "" && os.Getenv("EPILEDGER_REQUIRE_BROWSER") != "" {
		t.Fatal("no Chromium found and EPILEDGER_REQUIRE_BROWSER is set (CI): apt-get install chromium")
	}
	if path == "" {
		t.Skip("no Chromium found (apt-get install chromium, or set EPILEDGER_CHROMIUM): the console's browser tests did not run")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-quic", true), chromedp.Flag("lang", "en-US"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// screenshot writes the page as PNG for a person to look at: into
// $EPILEDGER_SCREENSHOTS, else a folder under the system's temp dir.
func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("EPILEDGER_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "epiledger-console-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

// run runs actions in the tab; a failure says what the console's error
// line said.
func run(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		errs, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("error") || {}).textContent || ""`))
		t.Fatalf("%s: %v (console error: %q)", what, err, errs)
	}
}

// text waits for sel to be visible and returns its text.
func text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	run(t, ctx, "wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// eval evaluates js in the page, awaiting a promise.
func eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// TestConsoleInvestigator logs in as an investigator, finds the worked
// case, opens its trajectory, contacts and chain, and checks that the
// numbers on screen are the API's; then the auditor finds those reads in
// the audit view; then logout ends the session.
func TestConsoleInvestigator(t *testing.T) {
	c := newCity(t)
	ctx := browser(t)

	// What the API answers for the same reads.
	var traj struct {
		Pseudonym string
		Entries   []struct{ Status string }
	}
	c.signed(t, "investigator", "POST", "/v1/trace/trajectory", `{"person":"`+workedPhone+`"}`, &traj)
	var cont struct {
		Persons  int
		Contacts []json.RawMessage
	}
	c.signed(t, "investigator", "POST", "/v1/trace/contacts", `{"person":"`+workedPhone+`"}`, &cont)
	var chain struct {
		Layers []int
		Nodes  []json.RawMessage
	}
	c.signed(t, "investigator", "POST", "/v1/trace/chain", `{"person":"`+workedPhone+`","depth":2}`, &chain)
	var st struct{ Height uint64 }
	c.signed(t, "investigator", "GET", "/v1/status", "", &st)

	run(t, ctx, "open the one-time URL", chromedp.Navigate(c.loginURL(t, "investigator")), chromedp.WaitVisible(chromedp.CSS("#st-height")))
	if h, _ := strconv.ParseUint(text(t, ctx, "#st-height"), 10, 64); h < st.Height {
		t.Errorf("height on screen %d, the API's %d", h, st.Height)
	}
	if got := text(t, ctx, "#who"); !strings.Contains(got, "investigator") {
		t.Errorf("who: %q", got)
	}
	screenshot(t, ctx, "01-status")

	// Case search, by keyboard: type the alias, Enter. The view first
	// asks for the case and purpose.
	run(t, ctx, "search", chromedp.Navigate(c.srv.URL+"/#/search"), chromedp.WaitVisible(chromedp.CSS("#person")),
		chromedp.SendKeys(chromedp.CSS("#person"), workedPhone+"\r"), chromedp.WaitVisible(chromedp.CSS("#case-form")))
	screenshot(t, ctx, "02-case-and-purpose")
	run(t, ctx, "case and purpose", chromedp.SendKeys(chromedp.CSS("#case"), "case-2020-0117"),
		chromedp.SendKeys(chromedp.CSS("#purposeText"), "contact tracing"),
		chromedp.Focus(chromedp.CSS("#case-form button")), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("#traj-count")))
	counted := 0
	for _, e := range traj.Entries {
		if e.Status == "accepted" || e.Status == "pending" {
			counted++
		}
	}
	if got := text(t, ctx, "#traj-count"); got != strconv.Itoa(counted) {
		t.Errorf("trajectory records on screen %s, the API's %d", got, counted)
	}
	if rows := eval[int](t, ctx, `document.querySelectorAll("#traj-table tbody tr").length`); rows != counted {
		t.Errorf("trajectory rows %d, want %d", rows, counted)
	}
	if got := eval[string](t, ctx, "location.hash"); got != "#/trajectory/pn:"+traj.Pseudonym {
		t.Errorf("the link names the person as %q, want by pseudonym", got)
	}
	if eval[string](t, ctx, `document.getElementById("map").dataset.points`) == "0" {
		t.Errorf("the map shows no place of the trajectory")
	}
	auditTxs := []string{text(t, ctx, "#audit") + eval[string](t, ctx, `document.getElementById("audit").dataset.tx`)}
	screenshot(t, ctx, "03-trajectory")

	// Refused records, shown apart when asked.
	run(t, ctx, "refused records", chromedp.Click(chromedp.CSS("#toggle-refused")), chromedp.WaitVisible(chromedp.CSS("#traj-refused")))
	if got, want := text(t, ctx, "#traj-refused"), strconv.Itoa(len(traj.Entries)-counted); got == "0" || (len(traj.Entries) > counted && got != want) {
		t.Logf("refused on screen %s (the API's default read counted %d of %d)", got, counted, len(traj.Entries))
	}
	screenshot(t, ctx, "04-trajectory-refused")

	// Contacts, reached by keyboard: Tab to the Contacts tab, Enter.
	if !tabTo(t, ctx, `a[href^="#/contacts/"]`, 60) {
		t.Fatal("Tab never reached the Contacts tab")
	}
	run(t, ctx, "contacts", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("#contacts-persons")))
	if got := text(t, ctx, "#contacts-persons"); got != strconv.Itoa(cont.Persons) {
		t.Errorf("contacts on screen %s, the API's %d", got, cont.Persons)
	}
	if rows := eval[int](t, ctx, `document.querySelectorAll("#contacts-table tbody tr").length`); rows != len(cont.Contacts) {
		t.Errorf("contact rows %d, the API's %d", rows, len(cont.Contacts))
	}
	auditTxs = append(auditTxs, eval[string](t, ctx, `document.getElementById("audit").dataset.tx`))
	// The filter by site kind narrows the table.
	run(t, ctx, "filter", chromedp.SetValue(chromedp.CSS("#kind-filter"), "taxi"))
	eval[bool](t, ctx, `document.getElementById("kind-filter").dispatchEvent(new Event("change"))`)
	if shown := text(t, ctx, "#contacts-shown"); shown == strconv.Itoa(len(cont.Contacts)) && len(cont.Contacts) > 1 {
		t.Errorf("filtering by taxi left all %s rows", shown)
	}
	screenshot(t, ctx, "05-contacts")

	// The chain of transmission.
	run(t, ctx, "chain", chromedp.Click(chromedp.CSS(`a[href^="#/chain/"]`)), chromedp.WaitVisible(chromedp.CSS("#chain-layers")))
	want := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(chain.Layers)), " · "), "[]")
	if got := text(t, ctx, "#chain-layers"); got != want {
		t.Errorf("chain layers on screen %q, the API's %q", got, want)
	}
	if n := eval[int](t, ctx, `document.getElementById("graph").cy.nodes().length`); n == 0 || n > len(chain.Nodes) {
		t.Errorf("graph nodes %d (the chain has %d persons)", n, len(chain.Nodes))
	}
	auditTxs = append(auditTxs, eval[string](t, ctx, `document.getElementById("audit").dataset.tx`))
	// A layer over 40 persons is one node that opens 40 more at a time,
	// by keyboard too (Enter on the graph).
	big := 0
	for _, n := range chain.Layers {
		big = max(big, n)
	}
	if big > 40 {
		aggs := eval[int](t, ctx, `document.getElementById("graph").cy.nodes(".agg").length`)
		before := eval[int](t, ctx, `document.getElementById("graph").cy.nodes().not(".agg").length`)
		if aggs == 0 {
			t.Fatalf("a layer of %d persons is drawn whole", big)
		}
		run(t, ctx, "open an aggregated layer", chromedp.Focus(chromedp.CSS("#graph")), chromedp.KeyEvent("\r"))
		if after := eval[int](t, ctx, `document.getElementById("graph").cy.nodes().not(".agg").length`); after != before+min(40, big) {
			t.Errorf("opening a layer: %d persons drawn, then %d; want %d more", before, after, min(40, big))
		}
	}
	screenshot(t, ctx, "06-chain")
	// The compact layout draws the same persons.
	drawn := eval[int](t, ctx, `document.getElementById("graph").cy.nodes().length`)
	run(t, ctx, "compact layout", chromedp.SetValue(chromedp.CSS("#layout"), "dagre"))
	eval[bool](t, ctx, `document.getElementById("layout").dispatchEvent(new Event("change"))`)
	if again := eval[int](t, ctx, `document.getElementById("graph").cy.nodes().length`); again != drawn {
		t.Errorf("the compact layout draws %d nodes, the layered one %d", again, drawn)
	}
	screenshot(t, ctx, "06b-chain-compact")

	// Chinese.
	run(t, ctx, "switch to Chinese", chromedp.Click(chromedp.CSS("#lang")), chromedp.WaitVisible(chromedp.CSS("#chain-layers")))
	if got := eval[string](t, ctx, "document.documentElement.lang"); got != "zh-CN" {
		t.Errorf("lang %q after the switch", got)
	}
	// The view renders again in Chinese once its data is back: wait for
	// it, as a reader would, rather than read the page mid-render.
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`(document.querySelector("h1") || {textContent: ""}).textContent.includes("传播链")`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Errorf("no Chinese heading: %v (it reads %q)", err, text(t, ctx, "h1"))
	}
	screenshot(t, ctx, "07-chain-zh")
	run(t, ctx, "back to English", chromedp.Click(chromedp.CSS("#lang")))

	// The follow-up list and the public map.
	var fu struct{ Contacts []json.RawMessage }
	c.signed(t, "investigator", "POST", "/v1/trace/follow-up", `{"person":"`+workedPhone+`"}`, &fu)
	run(t, ctx, "follow-up", chromedp.Click(chromedp.CSS(`a[href^="#/followup/"]`)), chromedp.WaitVisible(chromedp.CSS("#followup-count")))
	if got := text(t, ctx, "#followup-count"); got != strconv.Itoa(len(fu.Contacts)) {
		t.Errorf("follow-up on screen %s, the API's %d", got, len(fu.Contacts))
	}
	screenshot(t, ctx, "08-follow-up")
	var src struct {
		Cases []struct{ Persons, Sites []json.RawMessage }
	}
	c.signed(t, "investigator", "POST", "/v1/trace/sources", `{"persons":["`+workedPhone+`"]}`, &src)
	run(t, ctx, "sources", chromedp.Click(chromedp.CSS(`a[href^="#/sources/"]`)), chromedp.WaitVisible(chromedp.CSS("#sources-persons")))
	if got := text(t, ctx, "#sources-persons") + "/" + text(t, ctx, "#sources-sites"); got != fmt.Sprintf("%d/%d", len(src.Cases[0].Persons), len(src.Cases[0].Sites)) {
		t.Errorf("sources on screen %s, the API's %d/%d", got, len(src.Cases[0].Persons), len(src.Cases[0].Sites))
	}
	var cl struct{ Clusters []json.RawMessage }
	c.signed(t, "investigator", "POST", "/v1/trace/clusters", `{}`, &cl)
	run(t, ctx, "clusters", chromedp.Navigate(c.srv.URL+"/#/clusters"), chromedp.WaitVisible(chromedp.CSS("#clusters-count")))
	if got := text(t, ctx, "#clusters-count"); got != strconv.Itoa(len(cl.Clusters)) {
		t.Errorf("clusters on screen %s, the API's %d", got, len(cl.Clusters))
	}
	screenshot(t, ctx, "08b-clusters")
	run(t, ctx, "risk sites", chromedp.Navigate(c.srv.URL+"/#/risk"), chromedp.WaitVisible(chromedp.CSS("#risk-count")))
	screenshot(t, ctx, "09-risk-sites")

	// 1280x800: nothing wider than the window.
	if w := eval[int](t, ctx, "document.documentElement.scrollWidth"); w > 1280 {
		t.Errorf("the page is %d px wide at 1280x800", w)
	}

	// The auditor sees those reads.
	actx := browser(t)
	run(t, actx, "auditor login", chromedp.Navigate(c.loginURL(t, "auditor")), chromedp.WaitVisible(chromedp.CSS("#st-height")),
		chromedp.Navigate(c.srv.URL+"/#/audit"), chromedp.WaitVisible(chromedp.CSS("#audit-count")))
	for _, tx := range auditTxs[1:] {
		if tx == "" || eval[int](t, actx, `document.querySelectorAll('#audit-table [data-tx="`+tx+`"]').length`) != 1 {
			t.Errorf("the audit view does not show the read recorded as %q", tx)
		}
	}
	screenshot(t, actx, "10-audit")
	var sites struct{ Sites []json.RawMessage }
	c.signed(t, "auditor", "GET", "/v1/sites", "", &sites)
	run(t, actx, "roles and sites", chromedp.Navigate(c.srv.URL+"/#/roles"), chromedp.WaitVisible(chromedp.CSS("#sites-count")))
	if got := text(t, actx, "#sites-count"); got != strconv.Itoa(len(sites.Sites)) {
		t.Errorf("sites on screen %s, the API's %d", got, len(sites.Sites))
	}
	screenshot(t, actx, "11-roles-and-sites")

	// A child region's chain, registered and anchored here, in the
	// regions view.
	childPub, childKey, _ := ed25519.GenerateKey(nil)
	genesis := ledger.Hash{0xab}
	c.token(t, "POST", "/v1/children", fmt.Sprintf(`{"chain_id":"jiangan-1","region":"420102","genesis":%q,"authority":%q}`, genesis, hex.EncodeToString(childPub)))
	h1 := ledger.Header{Version: 1, Height: 1, PrevHash: genesis, Time: time.Now().Add(-time.Minute).UnixNano(), ChainID: "jiangan-1", Region: "420102"}
	anchor := ledger.NewTx(ledger.AnchorOf(&h1))
	anchor.Sign(c.h.Genesis.ChainID, childKey)
	c.token(t, "POST", "/v1/txs", `{"txs":["`+base64.StdEncoding.EncodeToString(anchor.Bytes())+`"]}`)
	run(t, actx, "regions", chromedp.Navigate(c.srv.URL+"/#/regions"), chromedp.WaitVisible(chromedp.CSS("#regions-count")))
	if got := text(t, actx, "#regions-count"); got != "1" {
		t.Errorf("child chains on screen %s, want 1", got)
	}
	run(t, actx, "a child's anchors", chromedp.Click(chromedp.CSS(`#regions-table a`)), chromedp.WaitVisible(chromedp.CSS("#anchors-count")))
	if got := text(t, actx, "#anchors-height"); got != "1" {
		t.Errorf("anchored height on screen %s, want 1", got)
	}
	screenshot(t, actx, "11b-regions")

	// The hierarchy's state: the parent this chain follows, and the
	// grants it holds (none on this city chain), as the API says.
	parentPub, _, _ := ed25519.GenerateKey(nil)
	c.token(t, "POST", "/v1/parent", fmt.Sprintf(`{"chain_id":"hubei-1","region":"420000","genesis":%q,"authority":%q}`, ledger.Hash{0xcd}, hex.EncodeToString(parentPub)))
	var grants struct{ Grants []json.RawMessage }
	c.signed(t, "auditor", "GET", "/v1/grants", "", &grants)
	run(t, actx, "the hierarchy", chromedp.Navigate(c.srv.URL+"/#/regions"), chromedp.WaitVisible(chromedp.CSS("#grants-count")))
	if got := text(t, actx, "#regions-parent"); got != "hubei-1 (420000)" {
		t.Errorf("the parent on screen %q, want hubei-1 (420000)", got)
	}
	if got := text(t, actx, "#grants-count"); got != strconv.Itoa(len(grants.Grants)) {
		t.Errorf("grants on screen %s, the API's %d", got, len(grants.Grants))
	}
	screenshot(t, actx, "11c-hierarchy")

	// The intelligence feed: a level I record from the airport's team,
	// endorsed by the commission, then a level IV one; the most urgent
	// first, its details one click away.
	n3Pub, n3, _ := ed25519.GenerateKey(nil)
	n2Pub, n2, _ := ed25519.GenerateKey(nil)
	for _, g := range []struct {
		pub  ed25519.PublicKey
		role string
	}{{n3Pub, "n3"}, {n2Pub, "n2"}} {
		c.token(t, "POST", "/v1/roles", fmt.Sprintf(`{"key":%q,"role":%q,"name":"test %s"}`, hex.EncodeToString(g.pub), g.role, g.role))
	}
	for _, r := range []*ledger.Intel{
		{Dimension: "public", Level: 4, Secrecy: "public", Time: time.Now().Add(-2 * time.Hour).Unix(), Region: "420100", Place: "Hankou station",
			Involved: 12, Facts: "rumours of a closure", Endorsements: 1},
		{Dimension: "epidemic", Level: 1, Secrecy: "internal", Time: time.Now().Add(-time.Hour).Unix(), Region: "420100", Place: "Tianhe airport",
			Involved: 200, Confirmed: 9, Facts: "routine tests of airport staff found 9 positives", Endorsements: 1},
	} {
		tx := ledger.NewTx(r)
		tx.Sign(c.h.Genesis.ChainID, n3)
		tx.Sign(c.h.Genesis.ChainID, n2)
		c.token(t, "POST", "/v1/txs", `{"txs":["`+base64.StdEncoding.EncodeToString(tx.Bytes())+`"]}`)
	}
	var feed struct{ Intel []struct{ Tx string } }
	c.signed(t, "investigator", "GET", "/v1/intel", "", &feed)
	run(t, ctx, "the intelligence feed", chromedp.Navigate(c.srv.URL+"/#/intel"), chromedp.WaitVisible(chromedp.CSS("#intel-count")))
	if got := text(t, ctx, "#intel-count"); got != strconv.Itoa(len(feed.Intel)) || got != "2" {
		t.Errorf("records on screen %s, the API's %d", got, len(feed.Intel))
	}
	if got := text(t, ctx, "#intel-table tbody tr:first-child .level"); got != "I" {
		t.Errorf("the first row's response level %q, want I (the most urgent first)", got)
	}
	screenshot(t, ctx, "12-intel")
	run(t, ctx, "an intelligence record", chromedp.Click(chromedp.CSS("#intel-table tbody tr:first-child a")), chromedp.WaitVisible(chromedp.CSS("#intel-facts")))
	if got := text(t, ctx, "#intel-facts"); got != "routine tests of airport staff found 9 positives" {
		t.Errorf("the record's facts on screen %q", got)
	}
	if got := text(t, ctx, "#intel-counts"); !strings.Contains(got, "9 confirmed") {
		t.Errorf("the record's counts on screen %q", got)
	}
	screenshot(t, ctx, "12b-intel-record")

	// Logout ends the session.
	run(t, ctx, "logout", chromedp.Navigate(c.srv.URL+"/#/"), chromedp.WaitVisible(chromedp.CSS("#logout")), chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS(".login")))
	if s := eval[int](t, ctx, `(async () => (await fetch("/v1/console/session")).status)()`); s != 401 {
		t.Errorf("session after logout: %d", s)
	}
}

// tabTo presses Tab until the focused element matches sel, at most n
// times.
func tabTo(t testing.TB, ctx context.Context, sel string, n int) bool {
	t.Helper()
	for i := 0; i < n; i++ {
		run(t, ctx, "Tab", chromedp.KeyEvent("\t"))
		if eval[bool](t, ctx, `document.activeElement && document.activeElement.matches(`+strconv.Quote(sel)+`)`) {
			return true
		}
	}
	return false
}

// TestConsoleSiteKey: a site's session opens no personal-data view, and
// the API refuses it the reads the page would make.
func TestConsoleSiteKey(t *testing.T) {
	c := newCity(t)
	ctx := browser(t)
	var traj struct{ Pseudonym string }
	c.signed(t, "investigator", "POST", "/v1/trace/trajectory", `{"person":"`+workedPhone+`"}`, &traj)
	run(t, ctx, "site login", chromedp.Navigate(c.loginURL(t, "site")), chromedp.WaitVisible(chromedp.CSS("#st-height")))
	if vis := eval[int](t, ctx, `[...document.querySelectorAll("#nav a")].filter(a => !a.hidden && a.dataset.need).length`); vis != 0 {
		t.Errorf("a site sees %d personal-data or audit links", vis)
	}
	for _, view := range []string{"search", "trajectory/pn:" + traj.Pseudonym, "contacts/pn:" + traj.Pseudonym, "chain/pn:" + traj.Pseudonym,
		"followup/pn:" + traj.Pseudonym, "sources/pn:" + traj.Pseudonym, "clusters", "audit", "roles"} {
		run(t, ctx, view, chromedp.Navigate(c.srv.URL+"/#/"+view), chromedp.WaitVisible(chromedp.CSS("#forbidden")))
	}
	screenshot(t, ctx, "12-site-forbidden")
	// The page's own checks aside, the node refuses the read.
	js := `(async () => {
	  const s = await (await fetch("/v1/console/session")).json();
	  const r = await fetch("/v1/trace/trajectory", {method: "POST", headers: {"Epiledger-CSRF": s.csrf, "Epiledger-Case": "c", "Epiledger-Purpose": "p"},
	    body: JSON.stringify({person: "pn:` + traj.Pseudonym + `"})});
	  return r.status;
	})()`
	if s := eval[int](t, ctx, js); s != 403 {
		t.Errorf("a site session's trajectory read: %d, want 403", s)
	}
}
