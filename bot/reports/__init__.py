"""The facilitator report: a week's engagement figures, their text and chart, and the line
about one member that both facilitators (in the report) and the member (in /profile) see."""
