package epcis_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/epiledger/epiledger/internal/epcis"
)

// Check digits below were worked by hand with the GS1 mod-10 rule: weights
// 3, 1, 3, ... from the rightmost digit, and the check digit tops the sum up
// to a multiple of ten.
//
//	urn:epc:id:sgtin:0614141.107346: indicator 1 moves first: 1 0614141 07346
//	  digits 1061414107346, right to left 6*3+4+3*3+7+0*3+1+4*3+1+4*3+1+6*3+0+1*3
//	  = 18+4+9+7+0+1+12+1+12+1+18+0+3 = 86 -> check 4 -> GTIN 10614141073464
//	Digital Link GTIN 09520123456788: 0952012345678, right to left
//	  8*3+7+6*3+5+4*3+3+2*3+1+0*3+2+5*3+9+0*3 = 24+7+18+5+12+3+6+1+0+2+15+9+0
//	  = 102 -> check 8 (so ...787 is wrong)
//	urn:epc:class:lgtin:4012345.012345: 0 4012345 12345 -> 0401234512345,
//	  5*3+4+3*3+2+1*3+5+4*3+3+2*3+1+0*3+4+0*3 = 15+4+9+2+3+5+12+3+6+1+0+4+0
//	  = 64 -> check 6 -> GTIN 04012345123456 (GS1's Digital Link twin of the
//	  same example writes exactly this)
//	urn:epc:id:sscc:0614141.1234567890: extension digit 1 moves first:
//	  1 0614141 234567890 -> 10614141234567890, right to left
//	  0*3+9+8*3+7+6*3+5+4*3+3+2*3+1+4*3+1+4*3+1+6*3+0+1*3
//	  = 0+9+24+7+18+5+12+3+6+1+12+1+12+1+18+0+3 = 132 -> check 8
//	  -> SSCC 106141412345678908
//	urn:epc:id:sgln:0614141.07346: 061414107346, right to left
//	  6*3+4+3*3+7+0*3+1+4*3+1+4*3+1+6*3+0 = 18+4+9+7+0+1+12+1+12+1+18+0 = 83
//	  -> check 7 -> GLN 0614141073467
func TestParseID(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want epcis.ID
	}{
		{"urn:epc:id:sgtin:0614141.107346.2017", epcis.ID{Kind: epcis.KindSGTIN, GTIN: "10614141073464", Serial: "2017"}},
		{"urn:epc:id:sgtin:0614141.107346.A%2FB%25C", epcis.ID{Kind: epcis.KindSGTIN, GTIN: "10614141073464", Serial: "A/B%C"}},
		{"urn:epc:class:lgtin:4012345.012345.998877", epcis.ID{Kind: epcis.KindLGTIN, GTIN: "04012345123456", Lot: "998877"}},
		{"urn:epc:idpat:sgtin:4012345.098765.*", epcis.ID{Kind: epcis.KindGTIN, GTIN: "04012345987652"}},
		// A 12-digit company prefix leaves only the indicator digit.
		{"urn:epc:id:sgtin:061414112345.1.9", epcis.ID{Kind: epcis.KindSGTIN, GTIN: "10614141123459", Serial: "9"}},
		{"urn:epc:id:sscc:0614141.1234567890", epcis.ID{Kind: epcis.KindSSCC, SSCC: "106141412345678908"}},
		{"urn:epc:id:sgln:0614141.07346.1234", epcis.ID{Kind: epcis.KindSGLN, GLN: "0614141073467", Extension: "1234"}},
		{"urn:epc:id:sgln:0614141.07346.0", epcis.ID{Kind: epcis.KindSGLN, GLN: "0614141073467"}},
		{"https://id.gs1.org/01/09520123456788/21/12345", epcis.ID{Kind: epcis.KindSGTIN, GTIN: "09520123456788", Serial: "12345"}},
		{"https://id.gs1.org/01/09520123456788/10/LOT%2F7", epcis.ID{Kind: epcis.KindLGTIN, GTIN: "09520123456788", Lot: "LOT/7"}},
		{"https://id.gs1.org/01/09520123456788/10/L1/21/S1", epcis.ID{Kind: epcis.KindSGTIN, GTIN: "09520123456788", Lot: "L1", Serial: "S1"}},
		{"https://id.gs1.org/01/09520123456788", epcis.ID{Kind: epcis.KindGTIN, GTIN: "09520123456788"}},
		// A GTIN-13 is padded to 14 digits.
		{"https://id.gs1.org/01/9520123456788/21/1", epcis.ID{Kind: epcis.KindSGTIN, GTIN: "09520123456788", Serial: "1"}},
		// The query string (an expiry date here) does not identify.
		{"https://id.gs1.org/01/09520123456788/21/1?17=290228", epcis.ID{Kind: epcis.KindSGTIN, GTIN: "09520123456788", Serial: "1"}},
		{"https://id.gs1.org/00/106141412345678908", epcis.ID{Kind: epcis.KindSSCC, SSCC: "106141412345678908"}},
		{"https://id.gs1.org/414/0614141073467/254/1234", epcis.ID{Kind: epcis.KindSGLN, GLN: "0614141073467", Extension: "1234"}},
		{"https://id.gs1.org/414/0614141073467", epcis.ID{Kind: epcis.KindSGLN, GLN: "0614141073467"}},
		// A brand's own domain, with a path prefix.
		{"https://brand.example.com/dl/01/09520123456788/21/7", epcis.ID{Kind: epcis.KindSGTIN, GTIN: "09520123456788", Serial: "7"}},
	} {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			got, err := epcis.ParseID(c.in)
			if err != nil {
				t.Fatalf("ParseID: %v", err)
			}
			c.want.URI = c.in
			if got != c.want {
				t.Errorf("ParseID = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestParseIDErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in      string
		is      error
		mention string // the message names this
	}{
		{"https://id.gs1.org/01/09520123456787/21/12345", epcis.ErrCheckDigit, "want 8"},
		{"https://id.gs1.org/00/106141412345678900", epcis.ErrCheckDigit, "SSCC"},
		{"https://id.gs1.org/414/0614141073460", epcis.ErrCheckDigit, "GLN"},
		{"https://brand.example.com/01/09520123456787", epcis.ErrCheckDigit, "GTIN"},
		{"urn:epc:id:grai:4012345.55555.987", epcis.ErrUnknownIDType, "urn:epc:id:grai"},
		{"urn:epc:id:giai:4000001.12345", epcis.ErrUnknownIDType, "urn:epc:id:giai"},
		{"urn:epc:idpat:sgtin:4012345.*.*", epcis.ErrUnknownIDType, "any item reference"},
		{"https://id.gs1.org/8004/4000001111", epcis.ErrUnknownIDType, "AI 8004"},
		{"https://id.gs1.org/01/09520123456788/22/A/21/1", epcis.ErrUnknownIDType, "AI 22"},
		{"https://transaction.example.com/po/12345678", epcis.ErrUnknownIDType, "not a GS1 Digital Link"},
		{"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", epcis.ErrUnknownIDType, "urn:uuid"},
		{"ni:///sha-256;df7b?ver=CBV2.0", epcis.ErrUnknownIDType, "ni"},
		{"not a uri", epcis.ErrInvalid, "not a URI"},
		{"urn:epc:id:sgtin:0614141.10734.2017", epcis.ErrInvalid, "13 digits"},
		{"urn:epc:id:sgtin:06141.1073466.2017", epcis.ErrInvalid, "13 digits"},
		{"urn:epc:id:sgtin:0614141.107346", epcis.ErrInvalid, "companyPrefix"},
		{"urn:epc:id:sgtin:0614141.107346.", epcis.ErrInvalid, "serial"},
		{"urn:epc:id:sgtin:0614141.107346.123456789012345678901", epcis.ErrInvalid, "1 to 20"},
		{"urn:epc:id:sgtin:0614141.107346.%ZZ", epcis.ErrInvalid, "percent"},
		{"urn:epc:id:sgtin:0614141.107346.%7E", epcis.ErrInvalid, "character set 82"},
		{"urn:epc:idpat:sgtin:4012345.098765.12", epcis.ErrInvalid, "*"},
		{"urn:epc:id:sscc:0614141.123456789", epcis.ErrInvalid, "17 digits"},
		{"urn:epc:id:sgln:0614141.0734.0", epcis.ErrInvalid, "12 digits"},
		{"https://id.gs1.org/01/09520123456/21/1", epcis.ErrInvalid, "14 digits"},
		{"https://id.gs1.org/01/09520123456788/21", epcis.ErrInvalid, "no value"},
		{"https://id.gs1.org/01/09520123456788/21/1/10/L", epcis.ErrInvalid, "AI 10"},
		{"https://id.gs1.org/00/106141412345678908/21/1", epcis.ErrInvalid, "AI 21"},
	} {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			got, err := epcis.ParseID(c.in)
			if !errors.Is(err, c.is) {
				t.Fatalf("ParseID = %+v, %v; want an error wrapping %v", got, err, c.is)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Errorf("error %q does not mention %q", err, c.mention)
			}
			if got != (epcis.ID{}) {
				t.Errorf("ParseID returned %+v with its error, want the zero ID", got)
			}
		})
	}
}

// TestCheckDigitCatchesEverySingleDigitError changes each digit of valid
// Digital Link keys to each other digit: the GS1 check digit, with weights
// 3 and 1 that are both prime to 10, must reject every such change.
func TestCheckDigitCatchesEverySingleDigitError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ prefix, key string }{
		{"https://id.gs1.org/01/", "10614141073464"},
		{"https://id.gs1.org/01/", "09520123456788"},
		{"https://id.gs1.org/00/", "106141412345678908"},
		{"https://id.gs1.org/414/", "0614141073467"},
	} {
		if _, err := epcis.ParseID(c.prefix + c.key); err != nil {
			t.Fatalf("%s%s: %v", c.prefix, c.key, err)
		}
		for i := range len(c.key) {
			for d := byte('0'); d <= '9'; d++ {
				if d == c.key[i] {
					continue
				}
				bad := c.key[:i] + string(d) + c.key[i+1:]
				if _, err := epcis.ParseID(c.prefix + bad); !errors.Is(err, epcis.ErrCheckDigit) {
					t.Errorf("%s%s: err = %v, want ErrCheckDigit", c.prefix, bad, err)
				}
			}
		}
	}
}

// TestURNAndDigitalLinkAgree checks that the URN and the Digital Link
// spelling of the same objects give the same GS1 keys: the URN side
// computes the check digit, the Digital Link side verifies it.
func TestURNAndDigitalLinkAgree(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{
		{"urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"},
		{"urn:epc:id:sgtin:9520123.045678.MASK%2F1", "https://id.gs1.org/01/09520123456788/21/MASK%2F1"},
		{"urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877"},
		{"urn:epc:idpat:sgtin:4012345.098765.*", "https://id.gs1.org/01/04012345987652"},
		{"urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"},
		{"urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"},
		{"urn:epc:id:sgln:0614141.07346.0", "https://id.gs1.org/414/0614141073467"},
	} {
		a, err := epcis.ParseID(c[0])
		if err != nil {
			t.Fatal(err)
		}
		b, err := epcis.ParseID(c[1])
		if err != nil {
			t.Fatal(err)
		}
		a.URI, b.URI = "", ""
		if a != b {
			t.Errorf("%s -> %+v\n%s -> %+v", c[0], a, c[1], b)
		}
	}
}
