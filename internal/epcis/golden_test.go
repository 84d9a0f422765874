package epcis_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/epiledger/epiledger/internal/epcis"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the decoder's output")

// TestGolden decodes every document in testdata (GS1's own EPCIS 2.0
// examples and one of ours; testdata/README.md says which is which) and
// compares a canonical text form of the result with its .golden file.
func TestGolden(t *testing.T) {
	t.Parallel()
	docs, err := filepath.Glob(filepath.Join("testdata", "*.jsonld"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 8 {
		t.Fatalf("found %d example documents in testdata, want at least 8", len(docs))
	}
	for _, path := range docs {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			d, err := epcis.DecodeDocument(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got := render(d)
			golden := strings.TrimSuffix(path, ".jsonld") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("decoded %s differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, golden, got, want)
			}
		})
	}
}

// render writes a decoded document as text, one field a line, in a fixed
// order, so that a golden file shows every value the decoder produced and
// nothing that depends on map order or the machine's time zone.
func render(d *epcis.Document) string {
	var b strings.Builder
	fmt.Fprintf(&b, "document %s schemaVersion=%q creationDate=%s\n", d.Type, d.SchemaVersion, fmtTime(d.CreationDate))
	for i, ev := range d.Events {
		fmt.Fprintf(&b, "event %d %s\n", i, ev.Type())
		line := func(field, v string) {
			if v != "" {
				fmt.Fprintf(&b, "  %s: %s\n", field, v)
			}
		}
		ids := func(field string, list []epcis.ID) {
			for j, id := range list {
				line(fmt.Sprintf("%s[%d]", field, j), fmtID(id))
			}
		}
		quantities := func(field string, list []epcis.Quantity) {
			for j, q := range list {
				amount := "unknown"
				if q.Known {
					amount = strconv.FormatFloat(q.Quantity, 'g', -1, 64)
				}
				if q.UOM != "" {
					amount += " " + q.UOM
				}
				line(fmt.Sprintf("%s[%d]", field, j), amount+" of "+fmtID(q.EPCClass))
			}
		}
		parent := func(id epcis.ID) {
			if id.URI != "" {
				line("parentID", fmtID(id))
			}
		}
		ilmd := func(m *epcis.ILMD) {
			if m == nil {
				return
			}
			if m.LotNumber != "" {
				line("ilmd.lotNumber", strconv.Quote(m.LotNumber))
			}
			line("ilmd.itemExpirationDate", m.ItemExpirationDate)
			keys := make([]string, 0, len(m.Other))
			for k := range m.Other {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				line("ilmd."+k, string(m.Other[k]))
			}
		}
		c := ev.Base()
		line("eventID", c.EventID)
		line("eventTime", fmtTime(c.EventTime))
		line("eventTimeZoneOffset", c.EventTimeZoneOffset)
		line("recordTime", fmtTime(c.RecordTime))
		switch e := ev.(type) {
		case *epcis.ObjectEvent:
			line("action", string(e.Action))
		case *epcis.AggregationEvent:
			line("action", string(e.Action))
		case *epcis.AssociationEvent:
			line("action", string(e.Action))
		case *epcis.TransactionEvent:
			line("action", string(e.Action))
		case *epcis.TransformationEvent:
			line("transformationID", e.TransformationID)
		}
		line("bizStep", c.BizStep)
		line("disposition", c.Disposition)
		if c.ReadPoint.URI != "" {
			line("readPoint", fmtID(c.ReadPoint))
		}
		if c.BizLocation.URI != "" {
			line("bizLocation", fmtID(c.BizLocation))
		}
		for j, bt := range c.BizTransactions {
			line(fmt.Sprintf("bizTransactionList[%d]", j), fmt.Sprintf("type=%q %s", bt.Type, bt.ID))
		}
		for j, p := range c.Sources {
			line(fmt.Sprintf("sourceList[%d]", j), p.Type+" "+fmtID(p.ID))
		}
		for j, p := range c.Destinations {
			line(fmt.Sprintf("destinationList[%d]", j), p.Type+" "+fmtID(p.ID))
		}
		for j, s := range c.CertificationInfo {
			line(fmt.Sprintf("certificationInfo[%d]", j), s)
		}
		if ed := c.ErrorDeclaration; ed != nil {
			line("errorDeclaration.declarationTime", fmtTime(ed.DeclarationTime))
			line("errorDeclaration.reason", ed.Reason)
			for j, id := range ed.CorrectiveEventIDs {
				line(fmt.Sprintf("errorDeclaration.correctiveEventIDs[%d]", j), id)
			}
		}
		switch e := ev.(type) {
		case *epcis.ObjectEvent:
			ids("epcList", e.EPCList)
			quantities("quantityList", e.QuantityList)
			ilmd(e.ILMD)
		case *epcis.AggregationEvent:
			parent(e.ParentID)
			ids("childEPCs", e.ChildEPCs)
			quantities("childQuantityList", e.ChildQuantityList)
		case *epcis.AssociationEvent:
			parent(e.ParentID)
			ids("childEPCs", e.ChildEPCs)
			quantities("childQuantityList", e.ChildQuantityList)
		case *epcis.TransactionEvent:
			parent(e.ParentID)
			ids("epcList", e.EPCList)
			quantities("quantityList", e.QuantityList)
		case *epcis.TransformationEvent:
			ids("inputEPCList", e.InputEPCList)
			quantities("inputQuantityList", e.InputQuantityList)
			ids("outputEPCList", e.OutputEPCList)
			quantities("outputQuantityList", e.OutputQuantityList)
			ilmd(e.ILMD)
		}
	}
	return b.String()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// fmtID writes an identifier's kind and GS1 keys, then the URI as written.
func fmtID(id epcis.ID) string {
	var b strings.Builder
	b.WriteString(id.Kind.String())
	for _, kv := range [][2]string{{"gtin", id.GTIN}, {"lot", id.Lot}, {"serial", id.Serial}, {"sscc", id.SSCC}, {"gln", id.GLN}, {"ext", id.Extension}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%q", kv[0], kv[1])
		}
	}
	fmt.Fprintf(&b, " <%s>", id.URI)
	return b.String()
}
