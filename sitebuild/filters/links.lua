-- Links to other pages are written as relative .qmd paths; the site serves .html.
-- Every local link and image target is reported to sitebuild on stderr ("[sitebuild] link|image
-- <target>") so the build can check that it exists; an image without alt text or loaded from
-- the network is reported too ("[sitebuild] image-no-alt|image-external <src>").
local function is_external(target)
  return target:match("^%a[%w+.-]*:") or target:match("^//")
end

local function report(kind, target)
  io.stderr:write("[sitebuild] " .. kind .. " " .. target .. "\n")
end

local function rewrite(target)
  if is_external(target) or target:match("^#") then
    return nil
  end
  local path, rest = target:match("^([^#?]*)(.*)$")
  if path:match("%.qmd$") then return path:gsub("%.qmd$", ".html") .. rest end
  return nil
end

function Link(link)
  if not is_external(link.target) and not link.target:match("^#") and link.target ~= "" then
    report("link", link.target)
  end
  local new = rewrite(link.target)
  if new then
    link.target = new
    return link
  end
end

function Image(img)
  if img.src:match("^https?:") or img.src:match("^//") then
    report("image-external", img.src)
  elseif not is_external(img.src) then
    report("image", img.src)
  end
  if #img.caption == 0 and not img.attributes["fig-alt"] and not img.attributes["alt"] then
    report("image-no-alt", img.src)
  end
end
