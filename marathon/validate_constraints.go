package marathon

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Placement constraints. Marathon compiles regular expressions with
// java.util.regex and zkfence with Go's regexp (RE2): the few constructs
// only Java knows (lookaround, backreferences, possessive quantifiers) are
// reported as invalid here although Marathon accepts them.

var constraintOperators = map[string]bool{
	"UNIQUE": true, "CLUSTER": true, "GROUP_BY": true, "LIKE": true, "UNLIKE": true, "MAX_PER": true, "IS": true,
}

// volumeConstraintRules is PersistentVolumeInfo's rule for one constraint
// (AppValidation.complyWithVolumeConstraintRules): only
// ["path", "LIKE"|"UNLIKE", regex].
func volumeConstraintRules(v *violations, c []string, path string) {
	switch {
	case len(c) == 0:
		v.add(path, "Missing field and operator")
	case len(c) >= 3 && c[0] == "path":
		op, value := c[1], c[2]
		switch {
		case op == "LIKE" || op == "UNLIKE":
			if _, err := regexp.Compile(value); err != nil {
				v.add(path, "Invalid regular expression")
			}
		case constraintOperators[op]:
			v.add(path, "Operator must be one of LIKE, UNLIKE")
		default:
			v.add(path, "unknown constraint operator "+op)
		}
	default:
		v.add(path, "Unsupported constraint "+strings.Join(c, ","))
	}
}

// appConstraintRules is SchedulingValidation.complyWithAppConstraintRules
// for one [field, operator, value?] constraint of an app.
func appConstraintRules(v *violations, c []string, path string) {
	if len(c) < 2 || len(c) > 3 {
		v.add(path, "Each constraint must have either 2 or 3 fields")
		return
	}
	var value *string
	if len(c) == 3 {
		value = &c[2]
	}
	if msg := operatorProblem(c[1], value); msg != "" {
		v.add(path, msg)
	}
}

// podConstraintRules is SchedulingValidation.complyWithConstraintRules for
// one constraint of a pod's placement.
func podConstraintRules(v *violations, c PodConstraint, path string) {
	if c.FieldName == "" {
		v.add(path, "Missing field and operator")
		return
	}
	if msg := operatorProblem(c.Operator, c.Value); msg != "" {
		v.add(path, msg)
	}
}

// operatorProblem checks an operator and its value.
func operatorProblem(op string, value *string) string {
	isInt := func(s *string) bool { _, err := strconv.ParseInt(deref(s), 10, 32); return s != nil && err == nil }
	switch op {
	case "UNIQUE":
		if value != nil {
			return "Value specified but not used"
		}
	case "CLUSTER", "IS":
		if deref(value) == "" {
			return "Missing value"
		}
	case "GROUP_BY":
		if value != nil && !isInt(value) {
			return "Value was specified but is not a number"
		}
	case "MAX_PER":
		if !isInt(value) {
			return "Value was not specified or is not a number"
		}
	case "LIKE", "UNLIKE":
		if value == nil {
			return "A regular expression value must be provided"
		}
		if _, err := regexp.Compile(*value); err != nil {
			return fmt.Sprintf("'%s' is not a valid regular expression", *value)
		}
	default:
		return "Constraint operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER or UNLIKE"
	}
	return ""
}
