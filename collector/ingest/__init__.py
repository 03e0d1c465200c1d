"""Reading and checking a batch: body limits, decoding, the sender's key, origin and rate, each event."""
