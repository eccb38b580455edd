package customer

import (
	"reflect"
	"time"
)

// Type is how a field is stored, and so how the store reads it and what
// rules see.
type Type int

// The field types. Each has one Go type in store.Customer (GoType), one
// SQL type per dialect (SQLType) and one type in rules (RuleType).
const (
	Text   Type = iota + 1 // TEXT NOT NULL DEFAULT ''; string
	Int                    // INTEGER or SMALLINT; int
	BigInt                 // BIGINT (INTEGER in SQLite); int64
	// Cents is money as whole hundredths of the currency unit in a BIGINT
	// (int64), like every *_cents column; rules read currency units (float).
	Cents
	Float // DOUBLE PRECISION (REAL in SQLite); float64
	Bool  // BOOLEAN (0/1 INTEGER in SQLite); bool
	Date  // DATE (TEXT 'YYYY-MM-DD' in SQLite), NULL when unknown; time.Time at UTC midnight, zero for NULL
	Time  // TIMESTAMPTZ (TIMESTAMP text in SQLite); time.Time in UTC, zero for NULL
	List  // JSONB array of strings (TEXT in SQLite); []string
	Map   // JSONB object (TEXT in SQLite); map[string]any
)

var typeNames = map[Type]string{Text: "text", Int: "int", BigInt: "bigint", Cents: "cents", Float: "float",
	Bool: "bool", Date: "date", Time: "time", List: "list", Map: "map"}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "unknown type"
}

// GoType is the type of the field in store.Customer.
func (t Type) GoType() reflect.Type {
	switch t {
	case Text:
		return reflect.TypeFor[string]()
	case Int:
		return reflect.TypeFor[int]()
	case BigInt, Cents:
		return reflect.TypeFor[int64]()
	case Float:
		return reflect.TypeFor[float64]()
	case Bool:
		return reflect.TypeFor[bool]()
	case Date, Time:
		return reflect.TypeFor[time.Time]()
	case List:
		return reflect.TypeFor[[]string]()
	case Map:
		return reflect.TypeFor[map[string]any]()
	}
	return nil
}

// RuleType is the type rules and templates see, as the rules
// documentation writes it ("int", "float", "list of string").
func (t Type) RuleType() string {
	switch t {
	case Text:
		return "string"
	case Int, BigInt:
		return "int"
	case Cents, Float:
		return "float"
	case Bool:
		return "bool"
	case Date, Time:
		return "time"
	case List:
		return "list of string"
	case Map:
		return "map of any"
	}
	return ""
}

// SQLType returns the column types a migration may declare for t in
// dialect ("postgres" or "sqlite"), as the database reports them
// (information_schema.columns.data_type, PRAGMA table_info's type); the
// first is the one to write.
func (t Type) SQLType(dialect string) []string {
	if dialect == "sqlite" {
		switch t {
		case Text, Date, List, Map:
			return []string{"TEXT"}
		case Int, BigInt, Cents, Bool:
			return []string{"INTEGER"}
		case Float:
			return []string{"REAL"}
		case Time:
			return []string{"TIMESTAMP"}
		}
		return nil
	}
	switch t {
	case Text:
		return []string{"text"}
	case Int:
		return []string{"integer", "smallint"}
	case BigInt, Cents:
		return []string{"bigint"}
	case Float:
		return []string{"double precision"}
	case Bool:
		return []string{"boolean"}
	case Date:
		return []string{"date"}
	case Time:
		return []string{"timestamp with time zone"}
	case List, Map:
		return []string{"jsonb"}
	}
	return nil
}
