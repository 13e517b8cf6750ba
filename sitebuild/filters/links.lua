-- Links to other pages are written as relative .qmd paths; the site serves .html.
local function rewrite(target)
  if target:match("^%a[%w+.-]*:") or target:match("^//") or target:match("^#") then
    return nil
  end
  local path, rest = target:match("^([^#?]*)(.*)$")
  if path:match("%.qmd$") then return path:gsub("%.qmd$", ".html") .. rest end
  return nil
end

function Link(link)
  local new = rewrite(link.target)
  if new then
    link.target = new
    return link
  end
end
