//! Delivers events to Wazuh's analysisd through its Unix datagram queue socket.
