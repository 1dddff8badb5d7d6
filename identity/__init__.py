"""Identity: node keys, the federation CA, enrolment, and the central's directory authority."""
