package bounce

import (
	"regexp"
	"strings"
)

var (
	enhancedCode = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)
	replyCode    = regexp.MustCompile(`(?m)(?:^|[\s;:#])([245])\d\d(?:[\s\-:]|$)`)
)

// hardText are phrases that say the address itself is gone, whatever the
// code (Exim and qmail often give none, or a bare 550).
var hardText = []string{"user unknown", "unknown user", "no such user", "no such mailbox", "no such recipient",
	"does not exist", "doesn't exist", "recipient not found", "recipientnotfound", "unknown recipient", "invalid recipient",
	"invalid mailbox", "not a valid mailbox", "mailbox unavailable", "mailbox not found", "address rejected",
	"account has been disabled", "account is disabled", "account that you tried to reach is disabled",
	"doesn't have a", "couldn't find any host", "host or domain name not found", "no mx", "address couldn't be found"}

// softText are phrases of a failure about the message, the sender or the
// moment, not the address: suppressing the address for them would be wrong.
var softText = []string{"mailbox full", "mailbox is full", "over quota", "quota exceeded", "exceeded storage",
	"insufficient storage", "too large", "size limit", "try again later", "temporarily", "temporary",
	"spam", "blocked", "blacklist", "blocklist", "block list", "policy", "reputation", "rate limit",
	"too many", "greylist", "retry timeout exceeded", "too long in the queue", "in the queue too long", "timed out"}

// classify decides a recipient's kind from a DSN action (empty for a plain
// bounce), a status code and the diagnostic. failed says the report is a
// failure when neither tells (a plain bounce that says "permanent error").
func classify(action, status, diag string, failed bool) Kind {
	switch action {
	case "delayed":
		return Delayed
	case "delivered", "relayed", "expanded":
		return Delivered
	}
	class, subject := codeOf(status, diag)
	lower := strings.ToLower(diag)
	switch class {
	case "2":
		if action == "" {
			return Delivered
		}
	case "4":
		return Soft
	}
	if class == "" && !failed {
		return Soft
	}
	if containsAny(lower, hardText) {
		return Hard
	}
	switch subject {
	case "2.2", "2.3", "3.4", "4.7", "7.0", "7.1", "7.7", "7.9":
		// mailbox full, too large, delivery time expired, policy and spam
		// blocks (5.7.1 without a "user unknown" text is a block)
		return Soft
	}
	if containsAny(lower, softText) {
		return Soft
	}
	return Hard
}

// codeOf returns the class (2, 4, 5) and subject.detail of the status, or
// of the first code in the diagnostic.
func codeOf(status, diag string) (class, subject string) {
	for _, s := range []string{status, diag} {
		if m := enhancedCode.FindStringSubmatch(s); m != nil {
			return m[1], m[2] + "." + m[3]
		}
	}
	if m := replyCode.FindStringSubmatch(diag); m != nil {
		return m[1], ""
	}
	return "", ""
}

func containsAny(s string, phrases []string) bool {
	for _, p := range phrases {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
