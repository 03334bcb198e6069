<?xml version="1.0" encoding="UTF-8"?>
<!--
  newswire's browser view of its RSS 2.0 and Atom 1.0 feeds (XSLT 1.0, as browsers run it).

  A feed names this file in <?xml-stylesheet?>; a browser that opens the feed shows this page
  instead of raw XML. Feed readers never see it. One self-contained page: inline CSS, no
  fonts or other outside resources, and one inline script: the URL to copy is the address the
  page was opened at (XSLT 1.0 cannot know it), so a feed served by `newswire serve` or from a
  staging host shows its own address, not production's. Without scripts the page shows the
  URL the feed names itself (rel="self").

  Every value from the feed is written with xsl:value-of, so the processor escapes it: no
  feed text can become markup here. RSS <description> holds the plain-text summary
  HTML-escaped once (rss.py); "unescape" undoes exactly that escaping, as text.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">

  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:variable name="months" select="'JanFebMarAprMayJunJulAugSepOctNovDec'"/>

  <!-- RSS 2.0 -->
  <xsl:template match="/rss">
    <xsl:variable name="channel" select="channel"/>
    <xsl:call-template name="page">
      <xsl:with-param name="language" select="$channel/language"/>
      <xsl:with-param name="title" select="$channel/title"/>
      <xsl:with-param name="description" select="$channel/description"/>
      <xsl:with-param name="home" select="$channel/link"/>
      <xsl:with-param name="self" select="$channel/atom:link[@rel='self']/@href"/>
      <xsl:with-param name="format" select="'RSS'"/>
      <xsl:with-param name="count" select="count($channel/item)"/>
      <xsl:with-param name="items">
        <xsl:for-each select="$channel/item">
          <xsl:call-template name="item">
            <xsl:with-param name="title" select="title"/>
            <xsl:with-param name="link" select="link"/>
            <xsl:with-param name="iso">
              <xsl:call-template name="rfc822-iso">
                <xsl:with-param name="value" select="normalize-space(pubDate)"/>
              </xsl:call-template>
            </xsl:with-param>
            <xsl:with-param name="when">
              <xsl:call-template name="rfc822-date">
                <xsl:with-param name="value" select="normalize-space(pubDate)"/>
              </xsl:call-template>
            </xsl:with-param>
            <xsl:with-param name="summary">
              <xsl:call-template name="unescape">
                <xsl:with-param name="text" select="description"/>
              </xsl:call-template>
            </xsl:with-param>
          </xsl:call-template>
        </xsl:for-each>
      </xsl:with-param>
    </xsl:call-template>
  </xsl:template>

  <!-- Atom 1.0 -->
  <xsl:template match="/atom:feed">
    <xsl:call-template name="page">
      <xsl:with-param name="language" select="@xml:lang"/>
      <xsl:with-param name="title" select="atom:title"/>
      <xsl:with-param name="description" select="atom:subtitle"/>
      <xsl:with-param name="home" select="atom:link[@rel='alternate']/@href"/>
      <xsl:with-param name="self" select="atom:link[@rel='self']/@href"/>
      <xsl:with-param name="format" select="'Atom'"/>
      <xsl:with-param name="count" select="count(atom:entry)"/>
      <xsl:with-param name="items">
        <xsl:for-each select="atom:entry">
          <xsl:variable name="date"
              select="atom:published | atom:updated[not(../atom:published)]"/>
          <xsl:call-template name="item">
            <xsl:with-param name="title" select="atom:title"/>
            <xsl:with-param name="link" select="atom:link[@rel='alternate' or not(@rel)]/@href"/>
            <xsl:with-param name="iso" select="normalize-space($date)"/>
            <xsl:with-param name="when">
              <xsl:call-template name="rfc3339-date">
                <xsl:with-param name="value" select="normalize-space($date)"/>
              </xsl:call-template>
            </xsl:with-param>
            <xsl:with-param name="summary" select="atom:summary"/>
          </xsl:call-template>
        </xsl:for-each>
      </xsl:with-param>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="page">
    <xsl:param name="language"/>
    <xsl:param name="title"/>
    <xsl:param name="description"/>
    <xsl:param name="home"/>
    <xsl:param name="self"/>
    <xsl:param name="format"/>
    <xsl:param name="count"/>
    <xsl:param name="items"/>
    <html lang="{$language}">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="robots" content="noindex"/>
        <title><xsl:value-of select="$title"/> (<xsl:value-of select="$format"/> feed)</title>
        <style>
          :root { color-scheme: light dark; --ink: #1d2127; --muted: #5b6470; --paper: #fff;
            --panel: #f3f5f8; --line: #dde2e8; --accent: #0b5cad; --badge: #e8590c; }
          @media (prefers-color-scheme: dark) {
            :root { --ink: #e6e9ee; --muted: #a3adb9; --paper: #15181c; --panel: #1f242a;
              --line: #323941; --accent: #7db7ff; --badge: #ff8a3d; }
          }
          * { box-sizing: border-box; }
          body { margin: 0; background: var(--paper); color: var(--ink);
            font: 1.0625rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
          main { max-width: 46rem; margin: 0 auto; padding: 2rem 1.25rem 4rem; }
          a { color: var(--accent); }
          header { border-bottom: 1px solid var(--line); padding-bottom: 1.25rem; }
          .badge { display: inline-block; background: var(--badge); color: #fff;
            font-size: .8125rem; font-weight: 700; letter-spacing: .04em;
            text-transform: uppercase; border-radius: .25rem; padding: .1rem .5rem; }
          h1 { font-size: clamp(1.6rem, 4vw, 2.2rem); line-height: 1.2; margin: .6rem 0 .4rem; }
          .description { color: var(--muted); margin: 0 0 .5rem; }
          .about { background: var(--panel); border: 1px solid var(--line);
            border-radius: .5rem; padding: 1rem 1.25rem; margin: 1.5rem 0 2rem; }
          .about h2 { font-size: 1.1rem; margin: 0 0 .4rem; }
          .about p { margin: .4rem 0; }
          .url { display: block; margin: .6rem 0; padding: .6rem .75rem; font-size: .95rem;
            font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
            background: var(--paper); border: 1px solid var(--line); border-radius: .375rem;
            overflow-wrap: anywhere; user-select: all; -webkit-user-select: all; }
          .hint { color: var(--muted); font-size: .9rem; }
          h2.latest { font-size: 1.25rem; margin: 0 0 .5rem; }
          ol { list-style: none; margin: 0; padding: 0; }
          li { border-bottom: 1px solid var(--line); padding: 1.1rem 0; }
          li h3 { font-size: 1.15rem; line-height: 1.35; margin: 0 0 .25rem; }
          li h3 a { text-decoration: none; }
          li h3 a:hover, li h3 a:focus { text-decoration: underline; }
          time { color: var(--muted); font-size: .9rem; }
          li p { margin: .35rem 0 0; }
          .empty { color: var(--muted); }
        </style>
      </head>
      <body>
        <main>
          <header>
            <span class="badge"><xsl:value-of select="$format"/> feed</span>
            <h1><xsl:value-of select="$title"/></h1>
            <xsl:if test="normalize-space($description)">
              <p class="description"><xsl:value-of select="$description"/></p>
            </xsl:if>
            <xsl:if test="starts-with($home, 'https://') or starts-with($home, 'http://')">
              <p><a href="{$home}">Visit the website →</a></p>
            </xsl:if>
          </header>
          <section class="about" aria-labelledby="about">
            <h2 id="about">This is a web feed</h2>
            <p>
              A feed brings new articles to you as soon as they are published, with no
              account and no email. Subscribe by copying this address into a feed reader app
              (NetNewsWire, Feedly, Inoreader, Thunderbird and many more):
            </p>
            <code class="url"><xsl:value-of select="$self"/></code>
            <script>
              if (location.protocol === 'https:' || location.protocol === 'http:') {
                document.querySelector('code.url').textContent =
                  location.origin + location.pathname;
              }
            </script>
            <p class="hint">
              You see this page because you opened the feed in a web browser. A feed reader
              checks the address for you and shows each new article as it appears.
            </p>
          </section>
          <h2 class="latest">Latest articles</h2>
          <xsl:choose>
            <xsl:when test="$count &gt; 0">
              <ol><xsl:copy-of select="$items"/></ol>
            </xsl:when>
            <xsl:otherwise>
              <p class="empty">Nothing published yet.</p>
            </xsl:otherwise>
          </xsl:choose>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="item">
    <xsl:param name="title"/>
    <xsl:param name="link"/>
    <xsl:param name="iso"/>
    <xsl:param name="when"/>
    <xsl:param name="summary"/>
    <li>
      <h3>
        <xsl:choose>
          <xsl:when test="starts-with($link, 'https://') or starts-with($link, 'http://')">
            <a href="{$link}"><xsl:value-of select="$title"/></a>
          </xsl:when>
          <xsl:otherwise><xsl:value-of select="$title"/></xsl:otherwise>
        </xsl:choose>
      </h3>
      <xsl:choose>
        <xsl:when test="normalize-space($iso)">
          <time datetime="{$iso}"><xsl:value-of select="$when"/></time>
        </xsl:when>
        <xsl:when test="normalize-space($when)">
          <time><xsl:value-of select="$when"/></time>
        </xsl:when>
      </xsl:choose>
      <xsl:if test="normalize-space($summary)">
        <p><xsl:value-of select="$summary"/></p>
      </xsl:if>
    </li>
  </xsl:template>

  <!--
    "&amp;", "&lt;" and "&gt;" back to "&", "<" and ">", as text: the exact inverse of
    Python's html.escape(quote=False), which is all rss.py applies to a summary.
  -->
  <xsl:template name="unescape">
    <xsl:param name="text"/>
    <xsl:choose>
      <xsl:when test="contains($text, '&amp;')">
        <xsl:value-of select="substring-before($text, '&amp;')"/>
        <xsl:variable name="rest" select="substring-after($text, '&amp;')"/>
        <xsl:choose>
          <xsl:when test="starts-with($rest, 'amp;')">
            <xsl:text>&amp;</xsl:text>
            <xsl:call-template name="unescape">
              <xsl:with-param name="text" select="substring($rest, 5)"/>
            </xsl:call-template>
          </xsl:when>
          <xsl:when test="starts-with($rest, 'lt;')">
            <xsl:text>&lt;</xsl:text>
            <xsl:call-template name="unescape">
              <xsl:with-param name="text" select="substring($rest, 4)"/>
            </xsl:call-template>
          </xsl:when>
          <xsl:when test="starts-with($rest, 'gt;')">
            <xsl:text>&gt;</xsl:text>
            <xsl:call-template name="unescape">
              <xsl:with-param name="text" select="substring($rest, 4)"/>
            </xsl:call-template>
          </xsl:when>
          <xsl:otherwise>
            <xsl:text>&amp;</xsl:text>
            <xsl:call-template name="unescape">
              <xsl:with-param name="text" select="$rest"/>
            </xsl:call-template>
          </xsl:otherwise>
        </xsl:choose>
      </xsl:when>
      <xsl:otherwise>
        <xsl:value-of select="$text"/>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- "Fri, 25 Feb 2022 16:10:00 +0000" (rss.py writes UTC) as "25 Feb 2022, 16:10 UTC". -->
  <xsl:template name="rfc822-date">
    <xsl:param name="value"/>
    <xsl:choose>
      <xsl:when test="string-length($value) = 31 and substring($value, 27) = '+0000'">
        <xsl:value-of select="concat(number(substring($value, 6, 2)), substring($value, 8, 9),
                                     ', ', substring($value, 18, 5), ' UTC')"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$value"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- "Fri, 25 Feb 2022 16:10:00 +0000" as "2022-02-25T16:10:00Z" for <time datetime>. -->
  <xsl:template name="rfc822-iso">
    <xsl:param name="value"/>
    <xsl:variable name="before" select="substring-before($months, substring($value, 9, 3))"/>
    <xsl:variable name="month" select="string-length($before) div 3 + 1"/>
    <xsl:if test="string-length($value) = 31 and substring($value, 27) = '+0000'
                  and contains($months, substring($value, 9, 3))">
      <xsl:value-of select="concat(substring($value, 13, 4), '-',
                                   format-number($month, '00'), '-', substring($value, 6, 2),
                                   'T', substring($value, 18, 8), 'Z')"/>
    </xsl:if>
  </xsl:template>

  <!-- "2022-02-25T16:10:00+00:00" (atom.py writes UTC) as "25 Feb 2022, 16:10 UTC". -->
  <xsl:template name="rfc3339-date">
    <xsl:param name="value"/>
    <xsl:variable name="month" select="number(substring($value, 6, 2))"/>
    <xsl:variable name="zone" select="substring($value, 20)"/>
    <xsl:choose>
      <xsl:when test="string-length($value) &gt;= 20 and $month &gt;= 1 and $month &lt;= 12
                      and ($zone = '+00:00' or $zone = 'Z')">
        <xsl:value-of select="concat(number(substring($value, 9, 2)), ' ',
                                     substring($months, $month * 3 - 2, 3), ' ',
                                     substring($value, 1, 4), ', ',
                                     substring($value, 12, 5), ' UTC')"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$value"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

</xsl:stylesheet>
