package region_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/epiledger/epiledger/internal/region"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in, code, short string
		level           region.Level
		parent          string // "" for none
	}{
		{"national", "000000", "national", region.LevelNational, ""},
		{"000000", "000000", "national", region.LevelNational, ""},
		{"0", "000000", "national", region.LevelNational, ""},
		{"32", "320000", "32", region.LevelProvince, "000000"},
		{"320000", "320000", "32", region.LevelProvince, "000000"},
		{"3201", "320100", "3201", region.LevelCity, "320000"},
		{"320100", "320100", "3201", region.LevelCity, "320000"},
		{"320115", "320115", "320115", region.LevelDistrict, "320100"},
		{" 420100 ", "420100", "4201", region.LevelCity, "420000"},
		{"110101", "110101", "110101", region.LevelDistrict, "110100"}, // Beijing's Dongcheng, under 1101 (its districts)
		{"429004", "429004", "429004", region.LevelDistrict, "420000"}, // Xiantao, administered by Hubei directly
	} {
		got, err := region.Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if string(got) != c.code || got.Short() != c.short || got.Level() != c.level {
			t.Errorf("Parse(%q) = %s (%s, %v), want %s (%s, %v)", c.in, got, got.Short(), got.Level(), c.code, c.short, c.level)
		}
		p, ok := got.Parent()
		if string(p) != c.parent || ok != (c.parent != "") {
			t.Errorf("%s's parent %q %v, want %q", got, p, ok, c.parent)
		}
	}
	for _, bad := range []string{"", "3", "321", "32011", "3201150", "32a1", "０３２", "00", "0100", "10", "320015", "-32", "national2"} {
		if c, err := region.Parse(bad); err == nil || !errors.Is(err, region.ErrCode) {
			t.Errorf("Parse(%q) = %q, %v; want an ErrCode", bad, c, err)
		}
	}
}

func TestAncestors(t *testing.T) {
	d := region.MustParse("320115")
	want := []region.Code{"320100", "320000", region.National}
	if got := d.Ancestors(); !slices.Equal(got, want) {
		t.Errorf("ancestors of %s: %v, want %v", d, got, want)
	}
	for _, c := range []struct {
		c, a string
		in   bool
	}{
		{"320115", "3201", true}, {"320115", "32", true}, {"320115", "national", true}, {"320115", "320115", true},
		{"320115", "3202", false}, {"320115", "33", false}, {"3201", "320115", false}, {"national", "32", false},
	} {
		if got := region.MustParse(c.c).Within(region.MustParse(c.a)); got != c.in {
			t.Errorf("%s within %s: %v", c.c, c.a, got)
		}
	}
}

// FuzzParse: whatever Parse accepts is six digits that parse to
// themselves, whose parents are valid codes of a higher level, ending at
// the nation.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"national", "32", "3201", "320115", "429004", "000000", "320015", "99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := region.Parse(s)
		if err != nil {
			return
		}
		if len(c) != 6 {
			t.Fatalf("Parse(%q) = %q", s, c)
		}
		if again, err := region.Parse(string(c)); err != nil || again != c {
			t.Fatalf("%q does not parse to itself: %q %v", c, again, err)
		}
		if short, err := region.Parse(c.Short()); err != nil || short != c {
			t.Fatalf("%q's short form %q parses to %q %v", c, c.Short(), short, err)
		}
		steps := 0
		for p, ok := c.Parent(); ok; p, ok = p.Parent() {
			if _, err := region.Parse(string(p)); err != nil || p.Level() >= c.Level() && c != region.National {
				t.Fatalf("%q's ancestor %q (%v)", c, p, err)
			}
			if steps++; steps > 3 {
				t.Fatalf("%q has more than three ancestors", c)
			}
		}
	})
}
