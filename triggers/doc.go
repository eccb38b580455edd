// Package triggers takes in the events that trigger campaigns: the signed
// purchase webhook (Standard Webhooks signatures, one event or a batch),
// parsing with per-field errors, and the grouped ingest that persists each
// event to the inbox before the answer. What a campaign does with an event
// is the engine's (worker); when a campaign is due is the campaign model's
// (campaigns).
package triggers
