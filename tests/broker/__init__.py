"""Tests of the embedded broker (`stompmodels.broker`)."""
