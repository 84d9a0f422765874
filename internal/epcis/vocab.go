package epcis

import (
	"fmt"
	"strings"
)

// A CBV vocabulary: the spellings of one of its words, which the decoder
// reduces to the bare word so that "shipping",
// "urn:epcglobal:cbv:bizstep:shipping" and
// "https://ref.gs1.org/cbv/BizStep-shipping" compare equal.
type vocab struct {
	// urn is the EPCIS 1.x URN prefix, web the CBV 2.0 term prefix after
	// "https://ref.gs1.org/cbv/" (and after "cbv:", the compact form the
	// JSON-LD context defines).
	urn, web string
}

var (
	bizStepVocab     = vocab{"urn:epcglobal:cbv:bizstep:", "BizStep-"}
	dispositionVocab = vocab{"urn:epcglobal:cbv:disp:", "Disp-"}
	bizTxTypeVocab   = vocab{"urn:epcglobal:cbv:btt:", "BTT-"}
	srcDestTypeVocab = vocab{"urn:epcglobal:cbv:sdt:", "SDT-"}
	errReasonVocab   = vocab{"urn:epcglobal:cbv:er:", "ER-"}
)

// normalise returns the bare CBV word for any of its spellings, and any
// other URI (a user vocabulary such as
// "http://epcis.example.org/hc/bizstep/summarising_discharge") unchanged.
// A bare word must look like a CBV word (lower case, digits and "_"); it
// is not checked against a list, because each CBV version adds words and
// which ones matter is the importer's decision.
func (v vocab) normalise(s string) (string, error) {
	word, cbv := s, false
	for _, p := range []string{v.urn, "https://ref.gs1.org/cbv/" + v.web, "http://ref.gs1.org/cbv/" + v.web, "cbv:" + v.web} {
		if w, ok := strings.CutPrefix(s, p); ok {
			word, cbv = w, true
			break
		}
	}
	if !cbv && strings.Contains(s, ":") {
		return s, nil // a URI of the user's own vocabulary
	}
	if !isCBVWord(word) {
		return "", fmt.Errorf("%w: not a CBV word or a URI", ErrInvalid)
	}
	return word, nil
}

func isCBVWord(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !(c >= 'a' && c <= 'z') && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}
