package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/state"
	"github.com/epiledger/epiledger/internal/store"
	"github.com/epiledger/epiledger/internal/trace"
)

// ErrNoPostgres is returned by FindPostgres when no PostgreSQL server
// binaries are installed.
var ErrNoPostgres = errors.New("bench: PostgreSQL server binaries not found (Debian: apt-get install postgresql)")

// FindPostgres returns the directory that holds initdb, pg_ctl and
// postgres: the one on PATH, else the newest /usr/lib/postgresql/N/bin
// (Debian's layout), else ErrNoPostgres.
func FindPostgres() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dir := filepath.Dir(p)
		if hasServer(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return pgMajor(b) - pgMajor(a) })
	for _, d := range dirs {
		if hasServer(d) {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// pgMajor is N of /usr/lib/postgresql/N/bin (0 if it is not a number).
func pgMajor(bin string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return n
}

// pgSettings tune the server for a read benchmark on this machine: the
// data of a 100,000-person month fits in memory; durability is not
// measured (the tables are unlogged anyway); JIT compilation, which costs
// more than it saves on queries of milliseconds, is off; autovacuum is off
// so that it does not run during the timings (the loader vacuums and
// analyzes once, after the indexes).
const pgSettings = `
# epiledger bench investigate
listen_addresses = ''
shared_buffers = 2GB
work_mem = 256MB
maintenance_work_mem = 1GB
max_parallel_maintenance_workers = 2
effective_cache_size = 8GB
random_page_cost = 1.1
jit = off
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 8GB
checkpoint_timeout = 30min
autovacuum = off
`

// pgPort names the server's socket file; the server listens on no TCP
// port, only on a Unix socket in a directory of its own.
const pgPort = 5432

// Postgres is a PostgreSQL server started by a benchmark in a data
// directory of its own. Stop stops it; the caller owns the data
// directory.
type Postgres struct {
	bin, data, sock string
	user            *user.User // the binaries run as this user when we are root (nil: as ourselves)
	log             io.Writer
	Version         string
}

// StartPostgres starts a server with the binaries in bin on the data
// directory data, creating the cluster first if data holds none. Run as
// root, the binaries run as the postgres user (initdb refuses root), so
// data's parent must be reachable by that user. Progress goes to log.
func StartPostgres(ctx context.Context, bin, data string, log io.Writer) (*Postgres, error) {
	pg := &Postgres{bin: bin, data: data, log: log}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("bench: running as root, PostgreSQL needs the postgres user: %w", err)
		}
		pg.user = u
	}
	sock, err := os.MkdirTemp("", "epiledger-pgsock-")
	if err != nil {
		return nil, err
	}
	pg.sock = sock
	if err := pg.own(sock); err != nil {
		os.RemoveAll(sock)
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		if err := pg.initdb(ctx); err != nil {
			os.RemoveAll(sock)
			return nil, err
		}
	}
	if err := pg.run(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(data, "server.log"), "-w", "-t", "120",
		"-o", fmt.Sprintf("-k %s -p %d", sock, pgPort), "start"); err != nil {
		os.RemoveAll(sock)
		return nil, fmt.Errorf("bench: start PostgreSQL (see %s): %w", filepath.Join(data, "server.log"), err)
	}
	conn, err := pg.Connect(ctx)
	if err != nil {
		pg.Stop()
		return nil, err
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&pg.Version); err != nil {
		pg.Stop()
		return nil, err
	}
	return pg, nil
}

// initdb creates the cluster in pg.data with the benchmark's settings.
func (pg *Postgres) initdb(ctx context.Context) error {
	if err := os.MkdirAll(pg.data, 0o700); err != nil {
		return err
	}
	if err := pg.own(pg.data); err != nil {
		return err
	}
	if err := pg.run(ctx, "initdb", "-D", pg.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return fmt.Errorf("bench: initdb: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(pg.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, pgSettings); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// own gives dir to the user the binaries run as.
func (pg *Postgres) own(dir string) error {
	if pg.user == nil {
		return nil
	}
	uid, _ := strconv.Atoi(pg.user.Uid)
	gid, _ := strconv.Atoi(pg.user.Gid)
	return os.Chown(dir, uid, gid)
}

// run runs one of the server binaries, as the postgres user when we are
// root; its output goes to the error on failure.
func (pg *Postgres) run(ctx context.Context, name string, args ...string) error {
	path := filepath.Join(pg.bin, name)
	var cmd *exec.Cmd
	if pg.user != nil {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", pg.user.Username, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Connect opens a client connection over the server's socket.
func (pg *Postgres) Connect(ctx context.Context) (*pgx.Conn, error) {
	return pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=disable", pg.sock, pgPort))
}

// Stop stops the server (fast shutdown) and removes its socket
// directory; the data directory stays.
func (pg *Postgres) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := pg.run(ctx, "pg_ctl", "-D", pg.data, "-m", "fast", "-w", "stop")
	os.RemoveAll(pg.sock)
	return err
}

// The schema. Persons are numbered (person); a presence also carries the
// pseudonym, so that a contact query returns it from the index without a
// join, its site's transport flag, so that the person's index gives it,
// and its record id (txid), via and role, which a contact returns. Via
// and role are text in the row and in the site indexes, not numbers of a
// table of the distinct pairs: that lookup is a join per contact
// returned, which measured slower than the few bytes more per index entry
// (0.92 ms against 0.76 ms p50 for 300 contacts, GiST, a city of 1,500
// persons). A presence's time is [t_in, t_out) in Unix seconds, also as
// the int8range during. Two indexes find the others at a site during a
// range (pgIndex): the GiST index on (site, during), and a btree on
// (site, t_in) that a query bounds below by the site's longest presence
// (sites.longest), the layout the ledger's own site index has. Both
// include what the queries read, so lookups are index-only scans. A
// site's id is collated "C", so that a contact query sorts it bytewise,
// as Go compares strings, whatever the cluster's locale. Tables are
// unlogged: loading is faster and reads are the same.
const pgSchema = `
DROP TABLE IF EXISTS presences, encounters, persons, sites, bench_city;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE UNLOGGED TABLE sites (num int4 PRIMARY KEY, id text COLLATE "C" NOT NULL, kind text NOT NULL, transport bool NOT NULL, longest int8 NOT NULL);
CREATE UNLOGGED TABLE persons (id int4 PRIMARY KEY, pseudonym bytea NOT NULL UNIQUE);
CREATE UNLOGGED TABLE presences (person int4 NOT NULL, pseudonym bytea NOT NULL, site int4 NOT NULL, transport bool NOT NULL,
  t_in int8 NOT NULL, t_out int8 NOT NULL, during int8range GENERATED ALWAYS AS (int8range(t_in, t_out)) STORED,
  txid bytea NOT NULL, via text NOT NULL, role text NOT NULL);
CREATE UNLOGGED TABLE encounters (person int4 NOT NULL, other int4 NOT NULL, device int4 NOT NULL, t_start int8 NOT NULL, t_end int8 NOT NULL,
  txid bytea NOT NULL);
CREATE UNLOGGED TABLE bench_city (city text NOT NULL, schema text NOT NULL);
`

const pgIndexes = `
CREATE INDEX presences_site_during ON presences USING gist (site, during) INCLUDE (person, pseudonym, txid, via, role);
CREATE INDEX presences_site_in ON presences (site, t_in) INCLUDE (t_out, person, pseudonym, txid, via, role);
CREATE INDEX presences_person ON presences (person, t_in) INCLUDE (site, t_out, transport, txid);
CREATE INDEX encounters_person ON encounters (person, t_start) INCLUDE (other, device, t_end, txid);
`

// pgSchemaVersion is bumped whenever what pgLoad loads changes in a way
// the text of pgSchema and pgIndexes does not show (what a column holds,
// which rows are copied). Version 2 added the record ids, via and role.
const pgSchemaVersion = 2

// pgSchemaID names the schema a database was loaded with: the version and
// a hash of the statements. pgLoad records it next to the city, and
// pgLoaded reuses a copy only when both match, so that a copy a --dir kept
// from an older build is reloaded, not queried for columns it lacks.
func pgSchemaID() string {
	h := sha256.Sum256([]byte(pgSchema + pgIndexes))
	return fmt.Sprintf("v%d-%x", pgSchemaVersion, h[:8])
}

// pgIndex is how a query finds the presences at a site that overlap a
// range [lo, hi) with lo < hi.
type pgIndex int

const (
	// pgGiST: during && int8range(lo, hi), through the GiST index.
	pgGiST pgIndex = iota
	// pgBtree: t_in in [lo - the site's longest presence, hi) and t_out >
	// lo, through the btree on (site, t_in).
	pgBtree
)

func (ix pgIndex) String() string { return [...]string{"GiST", "btree"}[ix] }

// pgIndexVariants lists the variants in the order they are timed.
var pgIndexVariants = []pgIndex{pgGiST, pgBtree}

// at returns the join condition on o (a presence at the site of p, a
// presence with the site's row s) for the range [lo, hi), and the
// expressions of o's start and end.
func (ix pgIndex) at(lo, hi string) (cond, in, out string) {
	if ix == pgGiST {
		return fmt.Sprintf("o.during && int8range(%s, %s)", lo, hi), "lower(o.during)", "upper(o.during)"
	}
	return fmt.Sprintf("o.t_in >= %[1]s - s.longest AND o.t_in < %[2]s AND o.t_out > %[1]s AND o.t_out > o.t_in", lo, hi), "o.t_in", "o.t_out"
}

// sites is the join that gives a presence p its site's longest presence,
// for the btree variant.
func (ix pgIndex) sites() string {
	if ix == pgGiST {
		return ""
	}
	return " JOIN sites s ON s.num = p.site"
}

// pgVisit is one visible visit, persons and sites numbered, its via and
// role interned (viaRole indexes pgData.viaRoles): 64 bytes, 850 MB for
// a city of 13 million visits while it is copied; two strings a visit
// would add 32 bytes of headers and the bytes themselves.
type pgVisit struct {
	txid         ledger.Hash
	in, out      int64
	person, site int32
	viaRole      int32
}

// pgEncounter is one visible encounter as indexed under person.
type pgEncounter struct {
	txid                  ledger.Hash
	start, end            int64
	person, other, device int32
}

// pgViaRole is a visit's via and role, interned.
type pgViaRole struct{ via, role string }

// pgData is what the store holds that the contact and chain queries
// read: every visible visit (moves make no contacts), every visible
// encounter (indexed under both persons), the persons and sites they
// name, and the distinct pairs of via and role of the visits.
type pgData struct {
	persons    []ledger.Pseudonym // index = person number
	num        map[ledger.Pseudonym]int32
	sites      map[uint32]*state.Site
	viaRoles   []pgViaRole // index = pgVisit.viaRole
	visits     []pgVisit
	encounters []pgEncounter
}

// readPGData reads the site index and the encounter index of the store.
// The site index is in site and time order, which is also the order the
// rows are loaded in (PostgreSQL's heap then has the locality of a table
// clustered on site and time). Presences are decoded without their
// strings (state.DecodePresenceBytes): a visit's via and role are looked
// up, not allocated, unless the pair is new.
func readPGData(r store.Reader, q *trace.Querier) (*pgData, error) {
	d := &pgData{num: map[ledger.Pseudonym]int32{}, sites: map[uint32]*state.Site{}}
	person := func(p ledger.Pseudonym) int32 {
		n, ok := d.num[p]
		if !ok {
			n = int32(len(d.persons))
			d.num[p] = n
			d.persons = append(d.persons, p)
		}
		return n
	}
	site := func(num uint32) error {
		if _, ok := d.sites[num]; ok {
			return nil
		}
		s, err := q.Site(num)
		if err != nil {
			return err
		}
		d.sites[num] = s
		return nil
	}
	// A pair's key is the via's length (a byte: the store encodes strings
	// of at most 255 bytes), the via, then the role.
	viaRoles := map[string]int32{}
	var key []byte
	viaRole := func(via, role []byte) int32 {
		key = append(append(append(key[:0], byte(len(via))), via...), role...)
		n, ok := viaRoles[string(key)]
		if !ok {
			n = int32(len(d.viaRoles))
			viaRoles[string(key)] = n
			d.viaRoles = append(d.viaRoles, pgViaRole{via: string(via), role: string(role)})
		}
		return n
	}
	lo, hi := store.TablePrefix(store.TabSiteIdx)
	var o state.PresenceCore
	var derr error
	err := r.Scan(lo, hi, func(_, v []byte) bool {
		var via, role []byte
		if via, role, derr = state.DecodePresenceBytes(v, &o); derr != nil {
			return false
		}
		if o.Kind != state.PresenceVisit || o.Status != state.StatusRecorded {
			return true
		}
		if derr = site(o.Site); derr != nil {
			return false
		}
		d.visits = append(d.visits, pgVisit{txid: o.TxID, in: o.In, out: o.Out, person: person(o.Person), site: int32(o.Site), viaRole: viaRole(via, role)})
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, err
	}
	lo, hi = store.TablePrefix(store.TabEncounter)
	var e state.Encounter
	err = r.Scan(lo, hi, func(k, v []byte) bool {
		if derr = state.DecodeEncounterInto(k, v, &e); derr != nil {
			return false
		}
		if !e.Visible() {
			return true
		}
		if derr = site(e.Device); derr != nil {
			return false
		}
		d.encounters = append(d.encounters, pgEncounter{txid: e.TxID, start: e.Start, end: e.End, person: person(e.Person), other: person(e.Other), device: int32(e.Device)})
		return true
	})
	if err == nil {
		err = derr
	}
	return d, err
}

// pgLoaded reports whether the database already holds the city named
// city (a previous run's load, kept in a directory given to the bench),
// loaded with this build's schema (pgSchemaID). A database loaded by a
// build whose bench_city has no schema column is not.
func pgLoaded(ctx context.Context, conn *pgx.Conn, city string) bool {
	var got, schema string
	err := conn.QueryRow(ctx, "SELECT city, schema FROM bench_city").Scan(&got, &schema)
	return err == nil && got == city && schema == pgSchemaID()
}

// pgLoad creates the schema, copies d in (binary COPY), builds the
// indexes, then vacuums and analyzes, and records city and the schema
// (pgLoaded). It returns the seconds spent copying and indexing.
func pgLoad(ctx context.Context, conn *pgx.Conn, d *pgData, city string, logf func(string, ...any)) (copySec, indexSec float64, err error) {
	t0 := time.Now()
	if _, err := conn.Exec(ctx, pgSchema); err != nil {
		return 0, 0, fmt.Errorf("bench: schema: %w", err)
	}
	nums := make([]uint32, 0, len(d.sites))
	for n := range d.sites {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	longest := map[int32]int64{}
	for i := range d.visits {
		v := &d.visits[i]
		longest[v.site] = max(longest[v.site], v.out-v.in)
	}
	if err := pgCopy(ctx, conn, "sites", []string{"num", "id", "kind", "transport", "longest"}, len(nums), func(i int) []any {
		s := d.sites[nums[i]]
		return []any{int32(nums[i]), s.ID, s.Kind, slices.Contains(ledger.DefaultTransportKinds, s.Kind), longest[int32(nums[i])]}
	}); err != nil {
		return 0, 0, err
	}
	if err := pgCopy(ctx, conn, "persons", []string{"id", "pseudonym"}, len(d.persons), func(i int) []any {
		return []any{int32(i), d.persons[i][:]}
	}); err != nil {
		return 0, 0, err
	}
	total := len(d.visits)
	if err := pgCopy(ctx, conn, "presences", []string{"person", "pseudonym", "site", "transport", "t_in", "t_out", "txid", "via", "role"}, total, func(i int) []any {
		v := &d.visits[i]
		if i > 0 && i%2_000_000 == 0 {
			logf("postgres: copied %d of %d visits", i, total)
		}
		vr := &d.viaRoles[v.viaRole]
		return []any{v.person, d.persons[v.person][:], v.site, slices.Contains(ledger.DefaultTransportKinds, d.sites[uint32(v.site)].Kind), v.in, v.out, v.txid[:], vr.via, vr.role}
	}); err != nil {
		return 0, 0, err
	}
	if err := pgCopy(ctx, conn, "encounters", []string{"person", "other", "device", "t_start", "t_end", "txid"}, len(d.encounters), func(i int) []any {
		e := &d.encounters[i]
		return []any{e.person, e.other, e.device, e.start, e.end, e.txid[:]}
	}); err != nil {
		return 0, 0, err
	}
	copySec = time.Since(t0).Seconds()
	logf("postgres: copied %d visits, %d encounters, %d persons, %d sites in %.0f s; building indexes", total, len(d.encounters), len(d.persons), len(nums), copySec)
	t0 = time.Now()
	for _, stmt := range strings.Split(strings.TrimSpace(pgIndexes), "\n") {
		t1 := time.Now()
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return 0, 0, fmt.Errorf("bench: %s: %w", stmt, err)
		}
		logf("postgres: %s (%.0f s)", stmt, time.Since(t1).Seconds())
	}
	for _, stmt := range []string{"VACUUM (ANALYZE) presences", "VACUUM (ANALYZE) encounters", "VACUUM (ANALYZE) persons", "VACUUM (ANALYZE) sites"} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return 0, 0, fmt.Errorf("bench: %s: %w", stmt, err)
		}
	}
	if _, err := conn.Exec(ctx, "INSERT INTO bench_city (city, schema) VALUES ($1, $2)", city, pgSchemaID()); err != nil {
		return 0, 0, err
	}
	indexSec = time.Since(t0).Seconds()
	return copySec, indexSec, nil
}

// pgCopy copies n rows into table (binary COPY): row(i) is the i-th
// row's values, in the order of cols.
func pgCopy(ctx context.Context, conn *pgx.Conn, table string, cols []string, n int, row func(i int) []any) error {
	i := 0
	_, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		return row(i - 1), nil
	}))
	if err != nil {
		return fmt.Errorf("bench: copy %s: %w", table, err)
	}
	return nil
}

// pgStart starts a server with the binaries in bin on dir/postgres and
// connects to it. Run as root, dir gets search permission for others
// (the server runs as the postgres user).
func pgStart(ctx context.Context, dir, bin string, log io.Writer) (*Postgres, *pgx.Conn, error) {
	if os.Geteuid() == 0 {
		if err := os.Chmod(dir, 0o711); err != nil {
			return nil, nil, err
		}
	}
	pg, err := StartPostgres(ctx, bin, filepath.Join(dir, "postgres"), log)
	if err != nil {
		return nil, nil, err
	}
	conn, err := pg.Connect(ctx)
	if err != nil {
		pg.Stop()
		return nil, nil, err
	}
	return pg, conn, nil
}

// pgContactsSQL is the contact query, the same query as
// trace.Querier.Contacts with the same answer: $1 the person's pseudonym,
// [$2, $3] the window, $4 the least time together off transport
// (seconds). The person's visits that overlap the window by a positive
// time, clipped to it, each looked up in the index for the others there
// with a positive overlap, which must last $4 unless the site is
// transport; encounters join with any overlap. One row per pair of
// overlapping presences: the other's pseudonym, the site's id and kind
// (trace.EncounterKind for an encounter, whose site is the device), the
// time together, the other's role and via (none and trace.EncounterVia
// for an encounter), the other's record and the case's (an encounter's
// record twice), in trace.SortContacts's order: pseudonym, site id,
// start, end, then the two records (bytea and the site id's "C" collation
// compare bytewise, as Go does). Sorting instead on integers that order
// as the pseudonyms and ids do (numbers given at load) was no faster on a
// small city: the keys must then leave through a subquery or as extra
// columns.
//
// The case's visits (mine) are MATERIALIZED, with their site's row, so
// that the plan is fixed: sites are read once per visit, not once per
// contact, and each lookup of the others is an index scan whose
// condition holds every bound, the btree's lower bound (start minus the
// site's longest presence) included. Inlined, the planner joined the sites
// after the lookups and left that bound to a join filter, which scans
// the site's index from its first entry.
func pgContactsSQL(ix pgIndex) string {
	cond, in, out := ix.at("m.a", "m.b")
	return fmt.Sprintf(`WITH me AS (SELECT id FROM persons WHERE pseudonym = $1),
mine AS MATERIALIZED (
  SELECT p.site, greatest(p.t_in, $2::int8) AS a, least(p.t_out, $3::int8) AS b, p.transport, p.txid, s.id, s.kind, s.longest
  FROM me JOIN presences p ON p.person = me.id JOIN sites s ON s.num = p.site
  WHERE p.t_in < $3::int8 AND p.t_out > $2::int8 AND p.t_out > p.t_in
)
SELECT o.pseudonym, m.id AS site, m.kind, greatest(m.a, %[2]s) AS t_from, least(m.b, %[3]s) AS t_to, o.role, o.via, o.txid, m.txid AS case_txid
FROM mine m JOIN presences o ON o.site = m.site AND %[1]s
WHERE o.person <> (SELECT id FROM me)
  AND (m.transport OR least(m.b, %[3]s) - greatest(m.a, %[2]s) >= $4::int8)
UNION ALL
SELECT p.pseudonym, s.id, %[4]s, greatest(e.t_start, $2::int8), least(e.t_end, $3::int8), '', %[5]s, e.txid, e.txid
FROM me JOIN encounters e ON e.person = me.id JOIN persons p ON p.id = e.other JOIN sites s ON s.num = e.device
WHERE e.t_start < $3::int8 AND e.t_end > $2::int8
ORDER BY pseudonym, site, t_from, t_to, txid, case_txid`,
		strings.ReplaceAll(cond, "s.longest", "m.longest"), in, out, pgQuote(trace.EncounterKind), pgQuote(trace.EncounterVia))
}

// pgBareContactsSQL is the contact statement earlier runs timed, kept
// beside pgContactsSQL to show what the full answer costs: the same rows
// (same arguments, same plan: the case's visits MATERIALIZED) but four
// columns, the other's pseudonym, the site's number, the start and the
// end, in no particular order.
func pgBareContactsSQL(ix pgIndex) string {
	cond, in, out := ix.at("m.a", "m.b")
	longest := ""
	if ix == pgBtree {
		longest = ", s.longest"
	}
	return fmt.Sprintf(`WITH me AS (SELECT id FROM persons WHERE pseudonym = $1),
mine AS MATERIALIZED (
  SELECT p.site, greatest(p.t_in, $2::int8) AS a, least(p.t_out, $3::int8) AS b, p.transport%[4]s
  FROM me JOIN presences p ON p.person = me.id%[5]s
  WHERE p.t_in < $3::int8 AND p.t_out > $2::int8 AND p.t_out > p.t_in
)
SELECT o.pseudonym, m.site, greatest(m.a, %[2]s), least(m.b, %[3]s)
FROM mine m JOIN presences o ON o.site = m.site AND %[1]s
WHERE o.person <> (SELECT id FROM me)
  AND (m.transport OR least(m.b, %[3]s) - greatest(m.a, %[2]s) >= $4::int8)
UNION ALL
SELECT p.pseudonym, e.device, greatest(e.t_start, $2::int8), least(e.t_end, $3::int8)
FROM me JOIN encounters e ON e.person = me.id JOIN persons p ON p.id = e.other
WHERE e.t_start < $3::int8 AND e.t_end > $2::int8`, strings.ReplaceAll(cond, "s.longest", "m.longest"), in, out, longest, ix.sites())
}

// pgQuote is s as an SQL string literal.
func pgQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// pgChainSQL returns the chain query of the given depth: $1 the case's
// pseudonym, [$2, $3] the window, $4 the least time together off
// transport. It is investigate.Chain with no latent or infectious period
// (a person exposed at x passes it on in any meeting after x), written as
// one statement with a common table expression per layer:
//
//   - s_k: everyone the frontier of layer k-1 met after their exposure
//     x (the part of the meeting after x must still be a contact), with the
//     earliest such exposure (the start of that part);
//   - f_k: those of s_k whose exposure is earlier than any they had
//     before (only they can reach anyone new or earlier in layer k+1);
//   - b_k: every person reached within k layers, with the first layer and
//     the earliest exposure.
//
// The result is the case (layer 0, exposure $2) and b_depth.
func pgChainSQL(ix pgIndex, depth int) string {
	var b strings.Builder
	b.WriteString(`WITH me AS (SELECT id FROM persons WHERE pseudonym = $1),
f0 AS (SELECT id AS person, $2::int8 AS x FROM me)`)
	cond, in, out := ix.at("greatest(p.t_in, f.x)", "least(p.t_out, $3::int8)")
	for k := 1; k <= depth; k++ {
		fmt.Fprintf(&b, `,
s%[1]d AS (
  SELECT person, min(x) AS x FROM (
    SELECT o.person, greatest(p.t_in, %[4]s, f.x) AS x
    FROM f%[2]d f
    JOIN presences p ON p.person = f.person AND p.t_in < $3::int8 AND p.t_out > f.x AND p.t_out > p.t_in%[6]s
    JOIN presences o ON o.site = p.site AND %[3]s
    WHERE o.person <> f.person AND o.person <> (SELECT id FROM me)
      AND (p.transport OR least(p.t_out, %[5]s, $3::int8) - greatest(p.t_in, %[4]s, f.x) >= $4::int8)
    UNION ALL
    SELECT e.other, greatest(e.t_start, f.x)
    FROM f%[2]d f JOIN encounters e ON e.person = f.person
    WHERE e.t_start < $3::int8 AND e.t_end > f.x AND e.other <> (SELECT id FROM me)
  ) m GROUP BY person
)`, k, k-1, cond, in, out, ix.sites())
		if k == 1 {
			b.WriteString(`,
f1 AS (SELECT person, x FROM s1),
b1 AS (SELECT person, x, 1 AS layer FROM s1)`)
			continue
		}
		fmt.Fprintf(&b, `,
f%[1]d AS (SELECT s.person, s.x FROM s%[1]d s LEFT JOIN b%[2]d b ON b.person = s.person WHERE b.person IS NULL OR s.x < b.x),
b%[1]d AS (SELECT person, min(x) AS x, min(layer) AS layer FROM (
  SELECT person, x, layer FROM b%[2]d UNION ALL SELECT person, x, %[1]d FROM f%[1]d) u GROUP BY person)`, k, k-1)
	}
	fmt.Fprintf(&b, `
SELECT $1::bytea, 0, $2::int8
UNION ALL
SELECT p.pseudonym, b.layer, b.x FROM b%d b JOIN persons p ON p.id = b.person`, depth)
	return b.String()
}

// pgContact is a row of the contact query (pgContactsSQL): a
// trace.Contact's fields.
type pgContact struct {
	person         ledger.Pseudonym
	site, kind     string
	from, to       int64
	role, via      string
	txid, caseTxID ledger.Hash
}

// pgContacts runs a contact query (pgContactsSQL) and reads every row, in
// the order the server returns them.
func pgContacts(ctx context.Context, conn *pgx.Conn, sql string, p ledger.Pseudonym, from, to, minOverlap int64) ([]pgContact, error) {
	return pgQuery(ctx, conn, sql, p, from, to, minOverlap, func(c *pgContact) (*ledger.Pseudonym, []any) {
		return &c.person, []any{&c.site, &c.kind, &c.from, &c.to, &c.role, &c.via, (*pgHash)(&c.txid), (*pgHash)(&c.caseTxID)}
	})
}

// pgBareContact is a row of the bare contact query (pgBareContactsSQL).
type pgBareContact struct {
	person   ledger.Pseudonym
	site     int32
	from, to int64
}

// pgBareContacts runs a bare contact query (pgBareContactsSQL) and reads
// every row.
func pgBareContacts(ctx context.Context, conn *pgx.Conn, sql string, p ledger.Pseudonym, from, to, minOverlap int64) ([]pgBareContact, error) {
	return pgQuery(ctx, conn, sql, p, from, to, minOverlap, func(c *pgBareContact) (*ledger.Pseudonym, []any) {
		return &c.person, []any{&c.site, &c.from, &c.to}
	})
}

// pgHash scans a bytea of 32 bytes (a record id) in place, without
// allocating a slice per row; any other length is an error.
type pgHash ledger.Hash

var _ pgtype.BytesScanner = (*pgHash)(nil)

// ScanBytes implements pgtype.BytesScanner; b is the driver's memory, so
// it is copied.
func (h *pgHash) ScanBytes(b []byte) error {
	if len(b) != len(h) {
		return fmt.Errorf("bench: a record id of %d bytes", len(b))
	}
	copy(h[:], b)
	return nil
}

// pgQuery runs a query with the arguments every query here takes (a
// pseudonym, a window, a minimum overlap in seconds) and reads every row
// into a T: the first column is a pseudonym, the others go where cols
// says.
func pgQuery[T any](ctx context.Context, conn *pgx.Conn, sql string, p ledger.Pseudonym, from, to, minOverlap int64,
	cols func(*T) (*ledger.Pseudonym, []any)) ([]T, error) {
	rows, err := conn.Query(ctx, sql, p[:], from, to, minOverlap)
	if err != nil {
		return nil, err
	}
	var out []T
	var row T
	person, dst := cols(&row)
	var raw []byte
	_, err = pgx.ForEachRow(rows, append([]any{&raw}, dst...), func() error {
		if len(raw) != len(person) {
			return fmt.Errorf("bench: a pseudonym of %d bytes", len(raw))
		}
		copy(person[:], raw)
		out = append(out, row)
		return nil
	})
	return out, err
}

// pgNode is a row of the chain query.
type pgNode struct {
	person   ledger.Pseudonym
	layer    int32
	exposure int64
}

// errPGTimeout is a chain query that PostgreSQL cancelled at the timeout.
var errPGTimeout = errors.New("bench: PostgreSQL statement timeout")

// pgChain runs a chain query (pgChainSQL) and reads every row. With a
// timeout > 0 the server cancels the statement after it (statement_timeout,
// so the server stops working, not only the client waiting), and
// errPGTimeout says so.
func pgChain(ctx context.Context, conn *pgx.Conn, sql string, p ledger.Pseudonym, from, to, minOverlap int64, timeout time.Duration) ([]pgNode, error) {
	if timeout > 0 {
		if _, err := conn.Exec(ctx, fmt.Sprintf("SET statement_timeout = %d", timeout.Milliseconds())); err != nil {
			return nil, err
		}
		defer conn.Exec(context.Background(), "SET statement_timeout = 0")
	}
	nodes, err := pgQuery(ctx, conn, sql, p, from, to, minOverlap, func(n *pgNode) (*ledger.Pseudonym, []any) {
		return &n.person, []any{&n.layer, &n.exposure}
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "57014" { // query_canceled
		return nil, errPGTimeout
	}
	return nodes, err
}
