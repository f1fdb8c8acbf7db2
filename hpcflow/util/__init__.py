"""Small utilities shared across hpcflow (structure handling for nested Python values)."""
