"""Live sessions ("gatherings"): pure time maths, recurrence, fair times and calendars."""
