"""Who may do what: roles, unit scope, separations of duty, officers named in forms."""
