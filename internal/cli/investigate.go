package cli

import (
	"fmt"
	"time"

	"github.com/epiledger/epiledger/internal/importer"
)

// socioPatternsOptions checks import's --format and --start; it returns
// nil for NDJSON.
func socioPatternsOptions(format, start, path string) (*importer.SocioPatterns, error) {
	switch format {
	case "", "ndjson":
		if start != "" {
			return nil, withHint(fmt.Errorf("--start applies only to --format sociopatterns"), "NDJSON records carry their own times")
		}
		return nil, nil
	case "sociopatterns":
	default:
		return nil, withHint(fmt.Errorf("--format %q: want ndjson or sociopatterns", format), "run \"epiledger import --help\"")
	}
	if start == "" {
		return nil, withHint(fmt.Errorf("--format sociopatterns needs --start"), "SocioPatterns times are seconds from the start of the study: give that start, e.g. --start 2010-12-06T13:00:00+01:00")
	}
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return nil, fmt.Errorf("--start: want an RFC 3339 time such as 2010-12-06T13:00:00+01:00")
	}
	return &importer.SocioPatterns{Start: t, Device: importer.SocioPatternsDevice(path)}, nil
}
