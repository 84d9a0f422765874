package importer

import (
	"bufio"
	"crypto/ed25519"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/epiledger/epiledger/internal/ledger"
	"github.com/epiledger/epiledger/internal/ndjson"
)

// SocioPatternsWindow is the resolution of SocioPatterns contact data: a
// line "t i j" means i and j were face to face during [t-20 s, t].
const SocioPatternsWindow = 20

// SocioPatterns says how to load a SocioPatterns contact file.
type SocioPatterns struct {
	// Start is the time that t = 0 of the file stands for (the files give
	// seconds from the start of the study, not dates).
	Start time.Time
	// Device is the id of the device site that reports every encounter
	// of the data set; the importer registers it (kind device) with a key
	// in the home's keystore. SocioPatternsDevice derives one from the
	// file name.
	Device string
	// Region is the device's region (default: the chain's).
	Region string
}

// SocioPatternsDevice is the device id for a SocioPatterns file:
// "sociopatterns-hospital" for tij_hospital.dat.
func SocioPatternsDevice(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	base = strings.TrimPrefix(base, "tij_")
	if path == "-" || base == "" || base == "." {
		return "sociopatterns"
	}
	id := "sociopatterns-" + base
	// Cut at a character boundary: half a character is not text.
	for len(id) > ledger.DefaultMaxSiteIDLen || !utf8.ValidString(id) {
		id = id[:len(id)-1]
	}
	return id
}

// Meeting is one merged SocioPatterns encounter: badges I < J face to face
// during [Start, End) seconds from the start of the study, first seen on
// file line Line.
type Meeting struct {
	I, J       uint64
	Start, End int64
	Line       int
}

// SocioPatternsFile is a parsed SocioPatterns contact file.
type SocioPatternsFile struct {
	Meetings   []Meeting   // ordered by start, then badges
	Rejections []Rejection // malformed lines, skipped
	Lines      int         // lines read
}

// ParseSocioPatterns reads lines "t i j" and merges the consecutive
// 20-second windows of each pair into one meeting: a window that starts
// where (or before) the pair's current meeting ends extends it. Badge
// order within a line does not matter. A malformed line is reported as a
// rejection and skipped; only a read error fails the parse.
func ParseSocioPatterns(r io.Reader) (*SocioPatternsFile, error) {
	type window struct {
		i, j uint64
		t    int64
		line int
	}
	var ws []window
	var bad []Rejection
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 {
			bad = append(bad, Rejection{Line: line, Code: "invalid", Msg: "want three numbers: t i j"})
			continue
		}
		t, err1 := strconv.ParseInt(f[0], 10, 64)
		i, err2 := strconv.ParseUint(f[1], 10, 64)
		j, err3 := strconv.ParseUint(f[2], 10, 64)
		switch {
		case err1 != nil || t < SocioPatternsWindow || t > 1<<40:
			bad = append(bad, Rejection{Line: line, Code: "invalid", Field: "t", Msg: "not a time in seconds >= 20"})
			continue
		case err2 != nil:
			bad = append(bad, Rejection{Line: line, Code: "invalid", Field: "i", Msg: "not a badge number"})
			continue
		case err3 != nil:
			bad = append(bad, Rejection{Line: line, Code: "invalid", Field: "j", Msg: "not a badge number"})
			continue
		case i == j:
			bad = append(bad, Rejection{Line: line, Code: "invalid", Field: "j", Msg: "a badge cannot meet itself"})
			continue
		}
		if i > j {
			i, j = j, i
		}
		ws = append(ws, window{i: i, j: j, t: t, line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("import: read: %w", err)
	}
	sort.Slice(ws, func(a, b int) bool {
		x, y := &ws[a], &ws[b]
		if x.i != y.i {
			return x.i < y.i
		}
		if x.j != y.j {
			return x.j < y.j
		}
		return x.t < y.t
	})
	var out []Meeting
	for k, w := range ws {
		start := w.t - SocioPatternsWindow
		if k > 0 {
			if m := &out[len(out)-1]; m.I == w.i && m.J == w.j && start <= m.End {
				m.End = max(m.End, w.t)
				continue
			}
		}
		out = append(out, Meeting{I: w.i, J: w.j, Start: start, End: w.t, Line: w.line})
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := &out[a], &out[b]
		if x.Start != y.Start {
			return x.Start < y.Start
		}
		if x.I != y.I {
			return x.I < y.I
		}
		return x.J < y.J
	})
	return &SocioPatternsFile{Meetings: out, Rejections: bad, Lines: line}, nil
}

// ImportSocioPatterns loads a SocioPatterns contact file: it registers the
// device (reported as line 0; a second import of the same data set finds
// that transaction already on the ledger, a replay), then submits one
// encounter per merged meeting, signed by the device, each badge N
// becoming the person id:N (sealed into the vault like any id). Rejections
// name the file line where the meeting starts. Only a failure of the sink
// returns an error.
func (im *Importer) ImportSocioPatterns(r io.Reader, o SocioPatterns) (*Result, error) {
	if o.Device == "" {
		o.Device = "sociopatterns"
	}
	if len(o.Device) > ledger.DefaultMaxSiteIDLen {
		return nil, &ndjson.FieldError{Field: "device", Msg: fmt.Sprintf("longer than %d bytes", ledger.DefaultMaxSiteIDLen)}
	}
	if err := ledger.CheckText("device", o.Device); err != nil {
		return nil, err
	}
	if o.Region == "" {
		o.Region = im.Region
	}
	cr := &countingReader{r: r}
	pf, err := ParseSocioPatterns(cr)
	if err != nil {
		return nil, err
	}
	key, err := im.keys.NewSite(o.Device)
	if err != nil {
		return nil, err
	}
	reg := &ledger.RegisterSite{Site: o.Device, Kind_: "device", Name: "SocioPatterns proximity sensors (" + o.Device + ")", Region: o.Region}
	copy(reg.Key[:], key.Public().(ed25519.PublicKey))
	first := &job{line: 0, tx: ledger.NewTx(reg)}
	if auth, err := im.authority("site"); err != nil {
		first.err = err
	} else {
		first.keys = []ed25519.PrivateKey{auth}
	}
	jobs := []*job{first}
	// Every badge's id goes to the vault before its first encounter.
	var badges []uint64
	var ids []string
	index := map[uint64]int{}
	for _, m := range pf.Meetings {
		for _, b := range [2]uint64{m.I, m.J} {
			if _, ok := index[b]; !ok {
				index[b] = len(ids)
				badges = append(badges, b)
				ids = append(ids, "id:"+strconv.FormatUint(b, 10))
			}
		}
	}
	refs := map[uint64]ledger.PersonRef{}
	if len(ids) > 0 {
		ps, err := im.refs.Resolve(ids)
		if err != nil {
			return nil, fmt.Errorf("import: pseudonyms: %w", err)
		}
		if len(ps) != len(ids) {
			return nil, fmt.Errorf("import: pseudonyms: %d answers for %d references", len(ps), len(ids))
		}
		for i, b := range badges {
			refs[b] = ps[i]
		}
	}
	start := o.Start.Unix()
	for _, m := range pf.Meetings {
		a, b := refs[m.I], refs[m.J]
		if ledger.RefLess(b, a) {
			a, b = b, a
		}
		jobs = append(jobs, &job{line: m.Line, keys: []ed25519.PrivateKey{key},
			tx: ledger.NewTx(&ledger.Encounter{Device: o.Device, A: a, B: b, Start: start + m.Start, Duration: uint32(m.End - m.Start)})})
	}
	res := &Result{Lines: pf.Lines, Rejected: len(pf.Rejections), Rejections: pf.Rejections}
	if err := im.submitJobs(jobs, res, cr.n); err != nil {
		return res, err
	}
	sort.SliceStable(res.Rejections, func(i, j int) bool { return res.Rejections[i].Line < res.Rejections[j].Line })
	return res, nil
}

// submitJobs signs and submits prepared jobs in order, chunk by chunk
// (vault entries of a chunk first), and waits for every receipt; read is
// the bytes of input behind the jobs, for progress. Lines is the caller's.
func (im *Importer) submitJobs(jobs []*job, res *Result, read int64) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	count := func(line int, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			res.Accepted++
			return
		}
		res.Rejected++
		res.Rejections = append(res.Rejections, toRejection(line, err))
	}
	for lo := 0; lo < len(jobs); lo += chunkLines {
		chunk := jobs[lo:min(lo+chunkLines, len(jobs))]
		if err := im.submitChunk(chunk, count, &wg); err != nil {
			return err
		}
		if im.Progress != nil {
			im.Progress(read, chunk[len(chunk)-1].line)
		}
	}
	if err := im.sink.Flush(); err != nil {
		return err
	}
	wg.Wait()
	return nil
}
