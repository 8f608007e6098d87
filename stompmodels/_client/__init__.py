"""What every client shares, whatever drives it: the session, its options and errors."""
