package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/epiledger/epiledger/internal/ndjson"
	"github.com/epiledger/epiledger/internal/sim"
)

// truthPath is where the ground truth of a simulated file goes: beside it.
func truthPath(out string) string {
	return strings.TrimSuffix(out, ".ndjson") + ".truth.json"
}

func writeSim(out string, gen func(*ndjson.Writer) (*sim.Truth, error)) (*sim.Truth, error) {
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	truth, err := gen(ndjson.NewWriter(bw))
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("sim: %s: %w", out, err)
	}
	tf, err := os.Create(truthPath(out))
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	return truth, truth.WriteJSON(tf)
}

func (e *env) simCmd() *cobra.Command {
	var cfg sim.Config
	var out, start string
	var worked bool
	c := &cobra.Command{
		Use:   "sim --people N --days D --seed S --out FILE",
		Short: "Write a synthetic city as NDJSON, with the ground truth of who met whom",
		Long: `sim generates a synthetic city: homes, offices, schools, shops, restaurants,
malls with venues, metro cars, intercity trains with carriages, taxis and
hospitals; people with identities and aliases; daily schedules (night at
home, work or school on weekdays, commutes by metro, lunches, shopping,
taxi rides, train trips); and a few confirmed cases reported by hospitals.
Every trajectory is physically possible.

It writes FILE (NDJSON, ready for "epiledger import") and, beside it,
FILE.truth.json: for every confirmed case, every contact (other person,
site, overlap interval) computed independently from the simulated
presences, so that tracing can be checked against it. The same seed gives
the same bytes.

--worked-case writes instead the worked case of the source document: the
train carriage -> taxi -> Ferris-wheel cabin -> hospital case with its 52
close contacts and the patient's car at a far-away toll gate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return withHint(fmt.Errorf("--out is required"), "e.g. epiledger sim --people 10000 --days 14 --out city.ndjson")
			}
			if start != "" {
				t, err := time.Parse("2006-01-02", start)
				if err != nil {
					return fmt.Errorf("--start: want YYYY-MM-DD")
				}
				cfg.Start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.FixedZone("+08:00", 8*3600))
			}
			began := time.Now()
			var truth *sim.Truth
			var err error
			if worked {
				truth, err = writeSim(out, sim.WorkedCase)
			} else {
				truth, err = writeSim(out, func(w *ndjson.Writer) (*sim.Truth, error) { return sim.Generate(cfg, w) })
			}
			if err != nil {
				return err
			}
			n := 0
			for _, cs := range truth.Contacts {
				n += len(cs)
			}
			fmt.Fprintf(e.stdout, "wrote %s and %s in %s: %d confirmed cases, %d contacts in the ground truth\n",
				out, truthPath(out), time.Since(began).Round(time.Millisecond), len(truth.Cases), n)
			return nil
		},
	}
	c.Flags().IntVar(&cfg.People, "people", 10000, "number of people")
	c.Flags().IntVar(&cfg.Days, "days", 14, "number of days")
	c.Flags().Uint64Var(&cfg.Seed, "seed", 1, "random seed (same seed, same output)")
	c.Flags().IntVar(&cfg.Cases, "cases", 0, "confirmed cases (default about people/2000, at least 3)")
	c.Flags().StringVar(&start, "start", "", "first day, YYYY-MM-DD (default 2020-01-06)")
	c.Flags().StringVar(&out, "out", "", "NDJSON file to write (required)")
	c.Flags().BoolVar(&worked, "worked-case", false, "write the source document's worked case instead of a city")
	return c
}
