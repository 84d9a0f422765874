package home

import (
	"reflect"
	"testing"

	"github.com/epiledger/epiledger/internal/state"
)

// TestDefaultConfigMatchesDefaultParams: the defaults written in
// config.toml are the state machine's defaults, so that documentation and
// behaviour agree.
func TestDefaultConfigMatchesDefaultParams(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	if got, want := c.Params(), state.DefaultParams(); !reflect.DeepEqual(got, want) {
		t.Fatalf("config defaults %+v\nstate defaults %+v", got, want)
	}
}
