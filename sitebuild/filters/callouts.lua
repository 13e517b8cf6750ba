-- Quarto callouts without Quarto: ::: {.callout-note} (tip, warning, important, caution).
-- Title from title="..." or a leading header; collapse="true" folds the callout into a closed
-- <details>, collapse="false" into an open one; otherwise a plain <div>.
local kinds = {note = "Note", tip = "Tip", warning = "Warning", important = "Important",
               caution = "Caution"}

local function callout_kind(div)
  for _, cls in ipairs(div.classes) do
    local kind = cls:match("^callout%-(%a+)$")
    if kind and kinds[kind] then return kind end
  end
end

local function escape(s)
  return (s:gsub("&", "&amp;"):gsub('"', "&quot;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

local function html(text) return pandoc.RawBlock("html", text) end

function Div(div)
  local kind = callout_kind(div)
  if not kind then return nil end
  local content = pandoc.List(div.content)
  local title
  if div.attributes.title then
    title = pandoc.utils.blocks_to_inlines(pandoc.read(div.attributes.title, "markdown").blocks)
  elseif #content > 0 and content[1].t == "Header" then
    title = content[1].content
    content:remove(1)
  else
    title = pandoc.Inlines(kinds[kind])
  end
  local classes = pandoc.List({"callout", "callout-" .. kind})
  for _, cls in ipairs(div.classes) do
    if cls ~= "callout-" .. kind and cls ~= "callout" then classes:insert(cls) end
  end
  if div.attributes.appearance then classes:insert("callout-" .. div.attributes.appearance) end
  if div.attributes.icon == "false" then classes:insert("callout-no-icon") end
  local id = div.identifier ~= "" and (' id="' .. escape(div.identifier) .. '"') or ""
  local class = ' class="' .. escape(table.concat(classes, " ")) .. '"'
  local icon = '<span class="callout-icon" aria-hidden="true"></span>'
  local collapse = div.attributes.collapse
  local blocks = pandoc.List()
  if collapse == "true" or collapse == "false" then
    local open = collapse == "false" and " open" or ""
    blocks:insert(html("<details" .. id .. class .. open .. '><summary class="callout-header">'
      .. icon .. '<span class="callout-title">'))
    blocks:insert(pandoc.Plain(title))
    blocks:insert(html('</span></summary><div class="callout-body">'))
    blocks:extend(content)
    blocks:insert(html("</div></details>"))
  else
    blocks:insert(html("<div" .. id .. class .. ' role="note"><div class="callout-header">'
      .. icon .. '<span class="callout-title">'))
    blocks:insert(pandoc.Plain(title))
    blocks:insert(html('</span></div><div class="callout-body">'))
    blocks:extend(content)
    blocks:insert(html("</div></div>"))
  end
  return blocks
end
