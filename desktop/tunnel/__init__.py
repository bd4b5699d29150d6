"""ngrok through pyngrok: the tunnel Twilio uses to reach this computer."""
