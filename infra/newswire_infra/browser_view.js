// CloudFront Function (viewer response): let browsers style feeds with feed.xsl.
// Chromium shows application/rss+xml and application/atom+xml as plain text and never runs
// their xml-stylesheet; served as application/xml the same bytes become a readable page.
// Feed readers do not ask for text/html, so they keep the feed's own type. Same rule as
// newswire.rendering.stylesheet.browser_content_type (tests/infra checks they agree).
function handler(event) {
    var response = event.response;
    var accept = event.request.headers.accept ? event.request.headers.accept.value : '';
    var type = response.headers['content-type'] ? response.headers['content-type'].value : '';
    if (type.indexOf('application/rss+xml') === 0 || type.indexOf('application/atom+xml') === 0) {
        response.headers['vary'] = { value: 'Accept, Accept-Encoding' };
        if (accept.indexOf('text/html') !== -1) {
            response.headers['content-type'] = { value: 'application/xml; charset=utf-8' };
        }
    }
    return response;
}
