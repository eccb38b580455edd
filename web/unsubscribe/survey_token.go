package unsubscribe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/tidings-crm/tidings/campaigns"
)

// Survey answer links are signed as unsubscribe links are, with the same
// key, under another payload version: a survey token is never read as an
// unsubscribe token (Verify refuses its version) nor the other way round.

// surveyTokenVersion is the first payload byte of a survey answer token:
// unsubscribe tokens are 1, the tracked links of web/tracking 2 to 4.
const surveyTokenVersion = 5

// SurveySubject is what one answer link says: this delivery's customer
// answers Score on the Kind scale of campaign Campaign. It holds ids only.
type SurveySubject struct {
	DeliveryID int64
	CustomerID int64
	Campaign   string
	Kind       campaigns.SurveyKind
	Score      int
}

// SignSurvey returns the token of one answer link.
func (s Signer) SignSurvey(sub SurveySubject) string {
	payload := make([]byte, 0, 32+len(sub.Campaign))
	payload = append(payload, surveyTokenVersion)
	payload = appendVarint(payload, sub.DeliveryID)
	payload = appendVarint(payload, sub.CustomerID)
	payload = appendString(payload, sub.Campaign)
	payload = appendString(payload, string(sub.Kind))
	payload = appendVarint(payload, int64(sub.Score))
	return s.Seal(payload)
}

// SurveyURL returns the answer link under base, the public root:
// "https://news.example.com/s/<token>".
func (s Signer) SurveyURL(base string, sub SurveySubject) string {
	return strings.TrimRight(base, "/") + "/s/" + s.SignSurvey(sub)
}

// VerifySurvey checks an answer link's token and returns what it says;
// every failure wraps ErrInvalidToken, and so does a score off its scale.
func (s Signer) VerifySurvey(token string) (SurveySubject, error) {
	p, err := s.Open(token, maxTokenLen)
	if err != nil {
		return SurveySubject{}, err
	}
	sub, err := decodeSurvey(p)
	if err != nil {
		return SurveySubject{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return sub, nil
}

func decodeSurvey(p []byte) (SurveySubject, error) {
	if len(p) == 0 || p[0] != surveyTokenVersion {
		return SurveySubject{}, errors.New("not a survey answer link")
	}
	p = p[1:]
	var sub SurveySubject
	var ok bool
	var kind string
	var score int64
	if sub.DeliveryID, p, ok = readVarint(p); !ok {
		return sub, errors.New("delivery id")
	}
	if sub.CustomerID, p, ok = readVarint(p); !ok {
		return sub, errors.New("customer id")
	}
	if sub.Campaign, p, ok = readString(p); !ok {
		return sub, errors.New("campaign")
	}
	if kind, p, ok = readString(p); !ok {
		return sub, errors.New("kind")
	}
	if score, p, ok = readVarint(p); !ok {
		return sub, errors.New("score")
	}
	if len(p) != 0 {
		return sub, errors.New("trailing bytes")
	}
	sub.Kind, sub.Score = campaigns.SurveyKind(kind), int(score)
	if !sub.Kind.Valid(sub.Score) {
		return sub, fmt.Errorf("score %d is not on the %s scale", score, kind)
	}
	return sub, nil
}

func appendVarint(p []byte, v int64) []byte { return binary.AppendVarint(p, v) }

func appendString(p []byte, v string) []byte {
	return append(binary.AppendUvarint(p, uint64(len(v))), v...)
}
