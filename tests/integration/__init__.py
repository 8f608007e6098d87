"""Tests against real brokers on loopback (RabbitMQ on 61613, ActiveMQ on 61614)."""
